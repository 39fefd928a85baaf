"""Deadlines (``deadline_s``): a job not started by its deadline ends ``expired`` and never runs.

Every live process sweeps the deadlines about once a second (an API process's sweeper thread, a
worker's heartbeat), so a poll or a stream shows the expiry within about a second of it, not only
when a worker next looks; the claim refuses an expired job too. A running job that reaches its
deadline is stopped by its own worker within a step (app/jobs/runner.py) and keeps its partial output.
"""

from __future__ import annotations

import time

import redis

from app.jobs import scripts
from app.jobs.events import encode
from app.jobs.record import expired_event
from app.redis_conn import Keys

EXPIRE_BATCH = 200


class Deadlines:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_s: int) -> None:
        self.keys = keys
        self.ttl_s = ttl_s
        self._expire_due = client.register_script(scripts.EXPIRE_DUE)

    def expire_due(self) -> list[str]:
        """End every queued job whose deadline passed; return their ids."""
        keys = [self.keys.deadlines, self.keys.queued, self.keys.job(""), self.keys.events("")]
        return list(self._expire_due(keys=keys, args=[repr(time.time()), EXPIRE_BATCH, self.ttl_s, encode(expired_event())]))
