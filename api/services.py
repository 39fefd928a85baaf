"""What the views share, built once per API process."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery
from flask import current_app

from app.config import Config
from app.event_hub import EventHub
from app.events import EventLog
from app.jobs import JobStore
from app.models import context_length, fingerprint, load_tokenizer, resolve
from app.prompts import PromptBuilder
from app.redis_conn import Keys, connect
from app.worker_registry import WorkerRegistry
from app import tracing
from app.api_flags import ApiFlagApplier
from app.flags import FlagStore
from app.metrics import ApiMetrics, api_metrics
from cache.result_cache import ResultCache
from workers.celery_app import make_celery


@dataclass
class Services:
    config: Config
    jobs: JobStore
    events: EventLog
    hub: EventHub  # one pub/sub connection shared by every streaming client of this process
    registry: WorkerRegistry
    celery: Celery
    prompts: PromptBuilder  # the tokenizer only: the API never loads model weights
    model_name: str
    model_id: str  # name + revision + numerics: part of every cache key
    cache: ResultCache
    metrics: ApiMetrics

    @classmethod
    def build(cls, config: Config) -> Services:
        tracing.setup(config.tracing, "llmjobs-api")
        client = connect(config.redis)
        keys = Keys(config.redis.key_prefix)
        tokenizer = load_tokenizer(config.model)
        cache = ResultCache.for_api(config.cache, client, config.redis.key_prefix)
        ApiFlagApplier(FlagStore(client, keys, config), {"semantic_cache": lambda value: cache.set_semantic(value == "on")}).start()
        return cls(
            config=config,
            jobs=JobStore(client, keys, config.job_ttl_s),
            events=EventLog(client, keys, config.job_ttl_s),
            hub=EventHub(client, keys),
            registry=WorkerRegistry(client, keys, config.worker.heartbeat_interval_s),
            celery=make_celery(config),
            prompts=PromptBuilder(tokenizer, min(context_length(config.model), config.worker.max_request_tokens or 1 << 62)),
            model_name=resolve(config.model).name,
            model_id=fingerprint(config.model),
            cache=cache,
            metrics=api_metrics(),
        )


def services() -> Services:
    return current_app.extensions["llmjobs"]
