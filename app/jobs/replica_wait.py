"""Waiting for replicas to hold a new job before the API answers (``LLMJOBS_REDIS_WAIT_REPLICAS``).

Redis replicates asynchronously: a master that dies right after acknowledging a write may take it
along, and the replica promoted by Sentinel never saw it. Redis ``WAIT n timeout`` blocks the
connection that wrote until ``n`` replicas have acknowledged everything it wrote, so it must run on
that same connection: the job store sends it in one pipeline with the script that stores the job.

What is waited for is the job's record and its place in the queue. Its Celery message is written a
moment later on kombu's own connection; a failover that loses only the message is repaired by
app/jobs/resend.py, which sends again the task of every job still queued when Redis' ``run_id``
changes (a promoted replica has its own).

A demanding user still gets an answer when the replicas are slow or gone: the job is accepted (it is
stored on the master and runs there as usual), and the shortfall is logged with the job's id and
counted (``llmjobs_jobs_unreplicated_total``), so that an alert can say the promise is not being kept.
Refusing instead would turn a replica's outage into an outage of every submit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)


class ReplicaWait:
    def __init__(self, num_replicas: int, timeout_s: float, on_short: Callable[[], None] | None = None) -> None:
        assert num_replicas > 0 and timeout_s > 0  # WAIT with timeout 0 would block for ever
        self.num_replicas = num_replicas
        self.timeout_ms = max(1, round(timeout_s * 1000))
        self.on_short = on_short
        self.num_short = 0

    def execute(self, pipe: redis.client.Pipeline, job_id: str) -> object:
        """Execute ``pipe`` (the write that stores ``job_id``) followed by a WAIT; return the write's reply.

        One pipeline is one connection: a WAIT sent on another connection of the pool would wait for that
        connection's own earlier writes, not for this job.
        """
        with pipe:
            pipe.wait(self.num_replicas, self.timeout_ms)
            *replies, acknowledged = pipe.execute()
        if replies[0] == 1:  # stored (0 and -1: refused, nothing to protect)
            self.check(acknowledged, job_id)
        return replies[0]

    def check(self, acknowledged: int, job_id: str) -> bool:
        """Whether enough replicas acknowledged ``job_id``; a shortfall is logged and counted, never raised."""
        if acknowledged >= self.num_replicas:
            return True
        self.num_short += 1
        log.warning(
            "job %s accepted, but %d of %d replicas acknowledged it within %d ms: a failover now could lose it",
            job_id, acknowledged, self.num_replicas, self.timeout_ms,
        )  # fmt: skip
        if self.on_short is not None:
            self.on_short()
        return False
