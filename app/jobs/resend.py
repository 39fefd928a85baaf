"""Sending again the tasks of queued jobs after Redis restarted.

Redis persists with an append-only file synced once a second, so a restart can lose the last
second of writes, and a job's record and its task message can land on different sides of that
second: the job is then queued with no message to run it. Nothing else would notice (no worker
holds a lease on it), so every API process watches Redis' ``run_id``, which changes with each
restart, and when it changes sends the task of every job still queued once more. A duplicate
is harmless: a worker's claim is atomic (app/jobs/scripts.py), so the job runs once and the
other message is dropped when it arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

from app.jobs.record import priority_of, queue_score
from app.redis_conn import Keys

log = logging.getLogger(__name__)


class RestartResender:
    def __init__(self, client: redis.Redis, keys: Keys, send_task: Callable[[str, int], None]) -> None:
        self.client = client
        self.keys = keys
        self.send_task = send_task
        self._run_id: str | None = None
        self.num_resent = 0

    def check_once(self) -> list[str]:
        """Resend every queued job's task if Redis restarted since the last call; return their ids."""
        run_id = self.client.info("server")["run_id"]
        if self._run_id in (None, run_id):
            self._run_id = run_id
            return []
        resent = self.resend_queued("Redis restarted")
        self._run_id = run_id  # after the sends: a failure retries them all at the next call
        return resent

    def resend_queued(self, why: str = "a worker died") -> list[str]:
        """Send every queued job's task once more (after a restart, or a worker's death: see LeaseReaper)."""
        queued = self.client.zrange(self.keys.queued, 0, -1, withscores=True)
        for job_id, score in queued:
            self.send_task(job_id, priority_of(float(score)))
        self.num_resent += len(queued)
        if queued:
            log.warning("%s: sent the tasks of %d queued jobs again (a lost or stranded message would hold them)", why, len(queued))
        return [job_id for job_id, _ in queued]


STRANDED_AFTER_S = 5.0


class StrandedJobs:
    """Queued jobs whose task message is nowhere. Redis' BRPOP can hand a message to a worker's connection in the
    instant the worker is killed: the message is gone, and it was never in kombu's unacked hash, so neither the
    broker's redelivery nor a lease (the job never started) brings it back. Every API process checks once a second:
    when the oldest queued job has waited ``after_s`` and its queue holds no message at all (no list entry, nothing
    unacked anywhere), no worker can ever start it, and every queued job's task is sent again (a duplicate is
    dropped by the atomic claim)."""

    def __init__(self, client: redis.Redis, keys: Keys, resender: RestartResender, messages_for: Callable[[str], int],
                 after_s: float = STRANDED_AFTER_S, clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.client = client
        self.keys = keys
        self.resender = resender
        self.messages_for = messages_for  # job id -> messages its queue holds (waiting + unacked)
        self.after_s = after_s
        self.clock = clock

    def check_once(self) -> list[str]:
        oldest = self.client.zrange(self.keys.queued, 0, 0, withscores=True)
        if not oldest:
            return []
        job_id, score = oldest[0]
        created_at = float(score) - queue_score(priority_of(float(score)), 0.0)
        if self.clock() - created_at < self.after_s or self.messages_for(job_id) > 0:
            return []
        return self.resender.resend_queued("queued jobs with no task message anywhere")
