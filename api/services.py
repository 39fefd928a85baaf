"""What the views share, built once per API process."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from celery import Celery
from flask import current_app

from app.batches.file_store import FileStore
from app.batches.files import FileRegistry
from app.batches.store import BatchStore
from app.config import Config
from app.errors import ConfigError, InvalidRequestError
from app.flags.api_applier import ApiFlagApplier
from app.flags.store import FlagStore
from app.jobs.deadlines import Deadlines
from app.jobs.drain import DrainRate
from app.jobs.event_hub import EventHub
from app.jobs.events import EventLog
from app.jobs.leases import LeaseReaper, Leases
from app.jobs.listing import JobListing
from app.jobs.lora_registry import LoraRegistry
from app.jobs.model_catalog import ModelCatalog
from app.jobs.model_router import ModelRouter
from app.jobs.prompts import PromptBuilder
from app.jobs.rate_limits import TenantRateLimits
from app.jobs.replica_wait import ReplicaWait
from app.jobs.resend import RestartResender, StrandedJobs
from app.jobs.routing import ModelEntry, queue_for
from app.jobs.store import JobStore
from app.jobs.submit import SubmitService
from app.jobs.sweeper import Sweeper
from app.jobs.worker_registry import WorkerRegistry
from app.lora_files import AdapterInfo, check_adapter
from app.model_files import context_length, fingerprint, load_tokenizer, tokenizer_at
from app.obs import tracing
from app.obs.api_metrics import ApiMetrics, api_metrics
from app.obs.live_stats import LiveStats
from app.redis_conn import Keys, connect
from app.webhooks.destinations import Destinations
from app.webhooks.outbox import Outbox
from cache.result_cache import ResultCache
from cache.store import CacheStore
from workers.celery_app import UNACKED_KEY, make_celery, queue_lists, send_generate


@dataclass
class Services:
    config: Config
    jobs: JobStore
    events: EventLog
    hub: EventHub  # one pub/sub connection shared by every streaming client of this process
    registry: WorkerRegistry
    submitter: SubmitService  # the default model's
    models: ModelRouter  # the submit service of each model a request may name
    catalog: ModelCatalog  # the models workers serve, their queues and load
    model_name: str
    metrics: ApiMetrics
    flags: ApiFlagApplier
    sweeper: Sweeper  # requeues a dead worker's jobs, expires deadlines, samples the drain rate
    files: FileRegistry  # uploaded files and batch outputs: metadata in Redis, bytes in the file store
    batches: BatchStore
    destinations: Destinations  # which webhook a new job or batch gets, checked against the URL policy
    outbox: Outbox  # webhook events
    listing: JobListing  # a tenant's jobs, newest first (GET /v1/jobs)
    live: LiveStats  # the last minutes' figures every worker adds to (GET /v1/stats)
    loras: LoraRegistry  # the LoRA adapters requests may name
    batch_sweeper: Sweeper | None = None  # the batch runner's rounds (started by create_app)

    @classmethod
    def build(cls, config: Config) -> Services:
        tracing.setup(config.tracing, "llmjobs-api")
        # A short connect timeout: during a Redis outage a request answers 503 within a second, never hangs.
        client = connect(config.redis, connect_timeout_s=0.5)
        keys = Keys(config.redis.key_prefix)
        replicas = config.redis.wait_replicas  # Redis WAIT after storing a job: a failover cannot lose it
        wait = ReplicaWait(replicas, config.redis.wait_timeout_s, api_metrics().job_unreplicated) if replicas else None
        jobs = JobStore(
            client, keys, config.job_ttl_s, lease_ttl_s=config.worker.lease_ttl_s, events_ttl_s=config.events_ttl_s, replica_wait=wait
        )
        store = CacheStore(client, config.redis.key_prefix, ttl_s=config.cache.ttl_s, max_entries=config.cache.max_entries)
        cache = ResultCache.for_api(config.cache, store)
        celery = make_celery(config)
        model_name = config.model.source().name
        default_queue = queue_for(config.worker.queue, model_name)
        metrics = api_metrics()
        drain = DrainRate(client, keys)
        rates = config.api.rate_limit or any(config.api.tenant_rate_limits.values())
        destinations = Destinations(config.webhooks)
        submitter = SubmitService(
            jobs=jobs,
            cache=cache,
            # The tokenizer only: the API never loads model weights.
            prompts=PromptBuilder(
                load_tokenizer(config.model), min(context_length(config.model), config.worker.max_request_tokens or 1 << 62)
            ),
            send_task=lambda job_id, priority, headers: send_generate(celery, job_id, priority, headers, queue=default_queue),
            metrics=metrics,
            model_name=model_name,
            model_id=fingerprint(config.model),
            default_max_tokens=config.api.default_max_tokens,
            inflight_ttl_s=2 * config.worker.task_time_limit_s,
            max_queued=config.api.max_queued,
            drain=drain,
            max_active=config.api.tenant_max_active,
            active_limits=config.api.tenant_active_limits,
            rate_limits=TenantRateLimits(config.redis, config.api.rate_limit, config.api.tenant_rate_limits) if rates else None,
            destinations=destinations,
        )
        registry = WorkerRegistry(client, keys, config.worker.heartbeat_interval_s)
        catalog = ModelCatalog(client, keys, registry, base_queue=config.worker.queue, default_model=model_name)
        loras = LoraRegistry(client, keys.prefix, config.api.tenant_loras)
        for name, path in config.api.lora_modules.items():  # declared: (re)registered at every start, as vLLM loads them
            loras.add(name, declared_adapter(name, path), model_name, replace=True)
        models = ModelRouter(
            default=submitter, catalog=catalog, build=lambda entry: for_model(submitter, entry, celery, config.worker.queue), loras=loras
        )

        def resend(job_id: str, priority: int) -> None:  # to the queue of the job's own model, whichever model it is
            send_generate(celery, job_id, priority, queue=catalog.queue_of(job_id))

        resender = RestartResender(client, keys, resend)

        def messages_for(job_id: str) -> int:  # the job's queue's waiting messages, and every unacked one
            with client.pipeline(transaction=False) as pipe:
                for name in queue_lists(catalog.queue_of(job_id)):
                    pipe.llen(name)
                pipe.hlen(UNACKED_KEY)
                return sum(pipe.execute())

        stranded = StrandedJobs(client, keys, resender, messages_for)
        reaper = LeaseReaper(Leases(client, keys, config.worker.lease_ttl_s), resend, on_takeover=resender.resend_queued)
        files = FileRegistry(client, keys.prefix, FileStore(config.batches.files_url), config.batches.tenant_max_file_bytes)
        chores = [reaper.reap_once, resender.check_once, stranded.check_once, Deadlines(client, keys, config.job_ttl_s).expire_due,
                  drain.sample, files.delete_expired]  # fmt: skip
        sweeper = Sweeper(chores).start()
        flags = ApiFlagApplier(FlagStore(client, keys, config), {"semantic_cache": lambda value: cache.set_semantic(value == "on")}).start()
        return cls(
            config=config,
            jobs=jobs,
            events=EventLog(client, keys, config.job_ttl_s),
            hub=EventHub(client, keys),
            registry=registry,
            submitter=submitter,
            models=models,
            catalog=catalog,
            model_name=model_name,
            metrics=metrics,
            flags=flags,
            sweeper=sweeper,
            files=files,
            batches=BatchStore(client, keys.prefix, config.job_ttl_s),
            destinations=destinations,
            outbox=Outbox(client, keys.prefix),
            listing=JobListing(client, keys),
            live=LiveStats(client, keys.prefix),
            loras=loras,
        )

    def stop(self) -> None:
        """Stop the background threads this process started (flag poller, sweeper, event hub)."""
        self.flags.stop()
        self.sweeper.stop()
        if self.batch_sweeper is not None:
            self.batch_sweeper.stop()
        self.hub.stop()


def for_model(default: SubmitService, entry: ModelEntry, celery: Celery, base_queue: str) -> SubmitService:
    """The default's submit service (same job store, cache, limits and metrics) for another model: its own
    tokenizer (loaded here, from the path its workers announced), context, cache fingerprint and queue."""
    queue = queue_for(base_queue, entry.model)
    service = copy.copy(default)
    service.prompts = PromptBuilder(tokenizer_at(entry.path, local=entry.local), entry.max_request_tokens)
    service.send_task = lambda job_id, priority, headers: send_generate(celery, job_id, priority, headers, queue=queue)
    service.model_name, service.model_id = entry.model, entry.fingerprint
    return service


def declared_adapter(name: str, path: str) -> AdapterInfo:
    try:
        return check_adapter(path)
    except InvalidRequestError as exc:
        raise ConfigError("LLMJOBS_LORA_MODULES", f"adapter {name!r}: {exc}") from None


def services() -> Services:
    return current_app.extensions["llmjobs"]
