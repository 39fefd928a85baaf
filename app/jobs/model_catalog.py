"""The models of a deployment as Redis shows them: the catalog the workers' heartbeats keep
(app/jobs/worker_registry.py), each model's live workers, and its queued and running jobs.

The API reads it to route a request (one round trip), to list ``GET /v1/models``, and to export the
per-model gauges an autoscaler scales on (two round trips per scrape, whatever the queues' lengths).
"""

from __future__ import annotations

import json
import time

import redis

from app.jobs import scripts
from app.jobs.routing import FORGET_AFTER_S, ModelEntry, ModelKeys, ModelServing, queue_for, serving_by_model
from app.jobs.worker_registry import WorkerRegistry
from app.obs.api_metrics import ModelLoad
from app.redis_conn import Keys


class ModelCatalog:
    def __init__(self, client: redis.Redis, keys: Keys, registry: WorkerRegistry, *, base_queue: str, default_model: str) -> None:
        self.redis = client
        self.keys = keys
        self.model_keys = ModelKeys(keys.prefix)
        self.registry = registry
        self.base_queue = base_queue  # LLMJOBS_QUEUE: each model's queue is named from it (routing.queue_for)
        self.default_model = default_model
        self._count_running = client.register_script(scripts.COUNT_RUNNING)

    def lookup(self, model: str) -> tuple[ModelEntry | None, int]:
        """``model``'s catalog entry (None if no worker ever announced it) and how many live workers serve it."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.model_keys.catalog, model)
            pipe.zcount(self.model_keys.workers(model), time.time(), "+inf")
            raw, live = pipe.execute()
        return (ModelEntry.from_json(raw) if raw else None), int(live)

    def serving(self) -> dict[str, ModelServing]:
        """The models live workers serve, from their heartbeats."""
        return serving_by_model(self.registry.live())

    def queue_of(self, job_id: str) -> str:
        """The queue of a stored job's model: where a requeued or resent task must go (any process may
        requeue any model's job: a lapsed lease is taken over by whichever process looks first)."""
        return self.queue_for_model(self.redis.hget(self.keys.job(job_id), "model") or self.default_model)

    def queue_for_model(self, model: str) -> str:
        return queue_for(self.base_queue, model)

    def load(self) -> dict[str, ModelLoad]:
        """Per model (the default, those known to the catalog and those live workers serve): its queued and
        running jobs, live workers, their slots and mean KV usage. For /metrics, at scrape time."""
        now = time.time()
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(self.keys.workers, now, "+inf")
            pipe.hgetall(self.model_keys.catalog)
            ids, catalog = pipe.execute()
        known = {model for model, raw in catalog.items() if now - ModelEntry.from_json(raw).seen_at <= FORGET_AFTER_S}
        models = sorted(known | {self.default_model})
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.mget([self.keys.worker(i) for i in ids] or [self.keys.worker("")])
            for model in models:
                pipe.zcard(self.model_keys.jobs(model))
            self._count_running(keys=[self.keys.leases], args=[self.keys.job("")], client=pipe)
            infos, *active, running_flat = pipe.execute()
        serving = serving_by_model([json.loads(raw) for raw in infos if raw])
        running = {model: int(n) for model, n in zip(running_flat[::2], running_flat[1::2], strict=True)}
        loads = {}
        for model, num_active in zip(models, active, strict=True):
            served = serving.get(model, ModelServing(model))
            num_running = running.get(model, 0)
            loads[model] = ModelLoad(
                queued=max(num_active - num_running, 0),
                running=num_running,
                workers=served.workers,
                slots=served.slots,
                kv_cache_usage=served.kv_cache_usage,
            )
        return loads
