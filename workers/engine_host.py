"""What one worker process holds: its config, Redis stores, and the engine.

The model loads lazily, once per process, on first use (``warm_up`` triggers it
right after the worker starts consuming), never when this module is imported.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

import redis
from prometheus_client import CollectorRegistry, start_http_server

from app.config import Config, load_config
from app.engine import Completion, Engine, engine_for, make_engine
from app.engine.loader import load_draft_model
from app.flags.gate import Gate
from app.flags.store import FlagStore, defaults
from app.flags.worker_applier import LIVE_SWITCHES, WorkerFlagApplier, configs_for
from app.jobs.cache_recorder import CacheRecorder
from app.jobs.cancel_watcher import CancelWatcher
from app.jobs.deadlines import Deadlines
from app.jobs.event_publisher import EventPublisher
from app.jobs.events import EventLog
from app.jobs.leases import LeaseReaper, Leases
from app.jobs.model_catalog import ModelCatalog
from app.jobs.prompts import PromptBuilder
from app.jobs.resend import RestartResender
from app.jobs.routing import queue_for
from app.jobs.runner import JobRunner
from app.jobs.store import JobStore
from app.jobs.worker_registry import WorkerRegistry
from app.obs import tracing
from app.obs.live_stats import LiveStats
from app.obs.process_memory import memory_stats
from app.obs.stats import JobOutcome
from app.obs.worker_metrics import WorkerMetrics
from app.redis_conn import Keys, connect
from cache.result_cache import ResultCache
from cache.store import CacheStore
from workers.celery_app import make_celery, queue_lists, send_generate
from workers.consume_watchdog import ConsumeWatchdog
from workers.serving import load_info, model_entry, serving_info

log = logging.getLogger(__name__)

EXIT_NOT_CONSUMING = 75  # EX_TEMPFAIL: start me again


class EngineHost:
    def __init__(self, config: Config) -> None:
        self.config = config
        tracing.setup(config.tracing, "llmjobs-worker")
        # Unique per process: a restarted worker is a different owner for the job store.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        client = connect(config.redis)
        keys = Keys(config.redis.key_prefix)
        self.jobs = JobStore(client, keys, config.job_ttl_s, lease_ttl_s=config.worker.lease_ttl_s)
        self.leases = Leases(client, keys, config.worker.lease_ttl_s)
        celery = make_celery(config)
        # This worker's model's queue; a requeued job goes to its own model's, whichever that is.
        self.queue = queue_for(config.worker.queue, config.model.name)
        self.registry = WorkerRegistry(client, keys, config.worker.heartbeat_interval_s)
        catalog = ModelCatalog(client, keys, self.registry, base_queue=config.worker.queue, default_model=config.model.name)
        resend = lambda job_id, priority: send_generate(celery, job_id, priority, queue=catalog.queue_of(job_id))  # noqa: E731
        self.reaper = LeaseReaper(self.leases, resend, on_takeover=RestartResender(client, keys, resend).resend_queued)
        self.deadlines = Deadlines(client, keys, config.job_ttl_s)
        self.watchdog = ConsumeWatchdog()
        self._client = client
        self._busy = 0  # task threads inside run_job (running, or waiting at the gate)
        self._busy_lock = threading.Lock()
        self.events = EventLog(client, keys, config.job_ttl_s)
        self.cancels = CancelWatcher(self.jobs)
        store = CacheStore(client, config.redis.key_prefix, ttl_s=config.cache.ttl_s, max_entries=config.cache.max_entries)
        self.cache_recorder = CacheRecorder(self.jobs, ResultCache(config.cache, store))
        self.live = LiveStats(client, config.redis.key_prefix)  # the live page's last minutes
        self.metrics = WorkerMetrics(
            CollectorRegistry(), lambda: self._runner.engine.stats() if self._runner else None, memory_stats, self.model_info
        )
        self._load_lock = threading.Lock()
        self._runner: JobRunner | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self.flag_store = FlagStore(client, keys, config)
        self.gate = Gate()  # closed while a rollback switch rebuilds the engine
        self._flags: WorkerFlagApplier | None = None
        self.started_flags: dict[str, str] = defaults(config)
        self.preloaded: tuple[Any, Any, str] | None = None  # (model, tokenizer, device) a tensor-parallel launch loaded first

    @property
    def runner(self) -> JobRunner:
        """The job runner over this process's engine, created (and the model loaded) on first use."""
        with self._load_lock:  # task threads and the warm-up may race here: load once
            if self._runner is None:
                started = time.monotonic()
                # Start with the switches as they are now, overrides included.
                try:
                    flags = {name: value for name, (value, _) in self.flag_store.effective().items()}
                except (redis.RedisError, OSError) as exc:
                    log.warning("flags not read, starting from configuration: %s", exc)
                    flags = defaults(self.config)
                self.gate.set_capacity(None if flags["batching"] == "on" else 1)
                started_config = configs_for(self.config, flags)
                # What the engine really starts with: a live switch it cannot take (draft-model
                # with no draft) stays pending, so the flag applier tries it and reports the refusal.
                self.started_flags = {**flags, "speculative": started_config.worker.speculative}
                if self.preloaded is not None:  # tensor parallel: every rank loaded its shard together
                    model, tokenizer, device = self.preloaded
                    worker = replace(started_config.worker, engine="batching")
                    draft_model = load_draft_model(self.config.model, tokenizer, device)  # rank 0 only, whole: drafting is local
                    engine = engine_for(
                        worker,
                        model,
                        tokenizer,
                        device=device,
                        model_name=self.config.model.source().name,
                        context_length=self.config.model.context_length_of(model.config),
                        draft_model=draft_model,
                    )
                else:
                    engine = make_engine(started_config.model, started_config.worker)
                for name, apply in LIVE_SWITCHES.items():  # as a rebuild does: prefix_cache off at start, say
                    apply(engine, self.started_flags[name])
                log.info(
                    "engine %s loaded %s on %s in %.1f s",
                    self.config.worker.engine,
                    engine.model_name,
                    engine.device,
                    time.monotonic() - started,
                )
                self._runner = JobRunner(
                    jobs=self.jobs,
                    events=self.events,
                    publisher=EventPublisher(self.events),
                    engine=engine,
                    prompts=PromptBuilder(engine.tokenizer, engine.context_length),
                    cancels=self.cancels,
                    worker_id=self.worker_id,
                    default_max_tokens=self.config.api.default_max_tokens,
                    on_end=self._job_ended,
                )
            return self._runner

    def model_info(self) -> dict[str, str]:
        """The settings the current engine runs with (heartbeat, /readyz and metrics labels)."""
        if self._runner is None:
            return {}
        engine = self._runner.engine
        return {
            "engine": "batching" if hasattr(engine, "scheduler") else "naive",
            "runner": getattr(engine, "runner_name", "transformers"),
            "device": engine.device,
            "quantization": getattr(engine.model, "llmjobs_quantization", "none"),
            "attention": getattr(engine.model, "llmjobs_attention", "sdpa"),
        }

    def run_job(self, job_id: str) -> str:
        """What the task does: wait while a switch rebuilds the engine, then run the job."""
        runner = self.runner  # loads the model on first use
        self.watchdog.task_started()
        with self._busy_lock:
            self._busy += 1
        try:
            with self.gate.passage():
                return runner.run(job_id)
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _set_engine(self, engine: Engine) -> None:
        assert self._runner is not None
        self._runner.engine = engine

    def _job_ended(self, outcome: JobOutcome, completion: Completion | None) -> None:
        self.metrics.job_ended(outcome)
        try:
            self.live.record(outcome)
        except redis.RedisError as exc:  # the live page's figures only: the job itself has ended
            log.debug("live stats not recorded: %s", exc)
        self.cache_recorder.job_ended(outcome, completion)

    def start_metrics_server(self) -> None:
        port = self.config.worker.metrics_port
        if not port:
            return
        try:
            start_http_server(port, addr=self.config.api.host, registry=self.metrics.registry)
            log.info("worker metrics on port %d", port)
        except OSError as exc:  # another worker on this host has it: serve jobs without metrics
            log.warning("worker metrics not served: port %d: %s", port, exc)

    def start_heartbeat(self) -> None:
        """Load the model, then announce this worker every interval until :meth:`stop`."""
        self.start_metrics_server()
        self.cancels.start()
        self._heartbeat = threading.Thread(target=self._beat_forever, name="llmjobs-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop(self) -> None:
        self._stop.set()
        if self._flags is not None:
            self._flags.stop()
        self.cancels.stop()
        if self._runner is not None:
            self._runner.engine.close()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        self.registry.remove(self.worker_id, self.config.model.name)

    def _beat_forever(self) -> None:
        engine = self.runner.engine  # load the model before announcing this worker as live
        try:
            self._flags = WorkerFlagApplier(
                self.flag_store,
                self.config,
                self.worker_id,
                self.gate,
                lambda: self.runner.engine,
                self._set_engine,
                initial=self.started_flags,
                fixed=self.preloaded is not None,
            ).start()
        except OSError as exc:
            log.warning("rollback switches unavailable (Redis): %s", exc)
        entry = model_entry(self.config, engine)
        info = {
            "id": self.worker_id,
            **serving_info(self.config, entry),
            "concurrency": self.config.worker.task_threads,
            "pid": os.getpid(),
            "started_at": time.time(),
        }
        while not self._stop.is_set():
            engine = self.runner.engine  # the switches may have replaced it
            now = {**self.model_info(), **load_info(engine), "memory": memory_stats()}
            try:
                self.registry.beat(self.worker_id, {**info, **now}, entry)
                self._renew_leases()
                self.reaper.reap_once()  # any live worker takes over the jobs of one that died
                self.deadlines.expire_due()
                self._check_consuming()
            except (redis.RedisError, OSError) as exc:  # keep beating once Redis returns
                log.warning("heartbeat failed: %s", exc)
            self._stop.wait(self.config.worker.heartbeat_interval_s)

    def _check_consuming(self) -> None:
        # kombu's Redis transport keeps a queue's waiting messages in a list named after it.
        with self._client.pipeline(transaction=False) as pipe:
            for name in queue_lists(self.queue):
                pipe.llen(name)
            waiting = sum(pipe.execute())
        free_slots = self.config.worker.task_threads - self._busy
        if self.watchdog.stuck(waiting=waiting, free_slots=free_slots):
            log.error("%d messages wait while this worker has %d free slots and took nothing: not consuming; exiting "
                      "for a fresh process (running jobs are taken over by their leases)", waiting, free_slots)  # fmt: skip
            os._exit(EXIT_NOT_CONSUMING)  # from the heartbeat thread: sys.exit would end only this thread

    def _renew_leases(self) -> None:
        for job_id in self.leases.renew(self.worker_id, self.cancels.watched()):
            log.warning("job %s: lease lost (taken over after a lapse); stopping it here", job_id)
            self.cancels.interrupt(job_id)


_host: EngineHost | None = None
_host_lock = threading.Lock()


def get_host() -> EngineHost:
    """This process's host, created on first call."""
    global _host
    with _host_lock:
        if _host is None:
            _host = EngineHost(load_config())
        return _host
