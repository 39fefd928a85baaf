"""Worker heartbeats in Redis, so readiness needs no broadcast to the workers.

Celery's own ``inspect().active_queues()`` waits a full broadcast timeout on
every call; a heartbeat key with a TTL answers ``/readyz`` in one round trip
and also tells the job store whether a task's previous owner is still alive.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import redis

from app.jobs.routing import ModelEntry, ModelKeys
from app.redis_conn import Keys

MISSED_BEATS = 5  # a worker is live until it misses this many heartbeats


class WorkerRegistry:
    def __init__(self, client: redis.Redis, keys: Keys, interval_s: float) -> None:
        self.redis = client
        self.keys = keys
        self.interval_s = interval_s
        self.model_keys = ModelKeys(keys.prefix)

    @property
    def ttl_s(self) -> float:
        return self.interval_s * MISSED_BEATS

    def beat(self, worker_id: str, info: dict[str, Any], serving: ModelEntry | None = None) -> None:
        """Announce ``worker_id`` live for :attr:`ttl_s`; with ``serving``, as a worker of that model too
        (its live workers' set, and its catalog entry, which the API routes and tokenizes by)."""
        now = time.time()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.worker(worker_id), json.dumps({**info, "beat_at": now}), px=int(self.ttl_s * 1000))
            pipe.zadd(self.keys.workers, {worker_id: now + self.ttl_s})
            pipe.zremrangebyscore(self.keys.workers, "-inf", now)
            if serving is not None:
                pipe.zadd(self.model_keys.workers(serving.model), {worker_id: now + self.ttl_s})
                pipe.zremrangebyscore(self.model_keys.workers(serving.model), "-inf", now)
                pipe.hset(self.model_keys.catalog, serving.model, replace(serving, seen_at=now).to_json())
            pipe.execute()

    def remove(self, worker_id: str, model: str | None = None) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.worker(worker_id))
            pipe.zrem(self.keys.workers, worker_id)
            if model is not None:
                pipe.zrem(self.model_keys.workers(model), worker_id)
            pipe.execute()

    def live(self, queue: str | None = None) -> list[dict[str, Any]]:
        """Workers whose heartbeat has not expired, optionally only those consuming ``queue``."""
        ids = self.redis.zrangebyscore(self.keys.workers, time.time(), "+inf")
        if not ids:
            return []
        infos = [json.loads(raw) for raw in self.redis.mget([self.keys.worker(i) for i in ids]) if raw]
        return [info for info in infos if queue is None or queue in info.get("queues", [])]
