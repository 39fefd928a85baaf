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
from collections.abc import Callable

import redis

from app.jobs.record import priority_of
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
