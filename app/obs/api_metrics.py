"""The API processes' Prometheus series. gunicorn runs several processes, so their counters use
prometheus-client's multiprocess mode (a shared folder of memory-mapped files,
``PROMETHEUS_MULTIPROC_DIR``, set up by ``llmjobs api``); gauges that describe the shared system
(queue depth, live workers) are read from Redis when ``/metrics`` is scraped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from app.obs.webhook_metrics import webhook_families

PREFIX = "llmjobs_"


class ApiMetrics:
    """The API processes' counters (multiprocess mode when gunicorn runs several)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        kwargs = {"registry": registry} if registry is not None else {}
        self.cache_lookups = Counter(PREFIX + "cache_lookups", "Result-cache lookups by tier and result.", ["tier", "result"], **kwargs)
        self.submitted = Counter(PREFIX + "jobs_submitted", "Jobs accepted by the API, by how they were served.", ["served_by"], **kwargs)
        self.rejected = Counter(PREFIX + "jobs_rejected", "Submits refused with 429, by reason.", ["reason"], **kwargs)
        self.unreplicated = Counter(
            PREFIX + "jobs_unreplicated",
            "Jobs accepted though fewer replicas than LLMJOBS_REDIS_WAIT_REPLICAS acknowledged them in time (a failover could lose them).",
            **kwargs,
        )
        self.batch_lines_ended = Counter(
            PREFIX + "batch_lines", "Batch lines written to their batch's output (completed) or error file (failed).", ["outcome"], **kwargs
        )
        self.batches_ended = Counter(PREFIX + "batches_ended", "Batches that ended, by final status.", ["status"], **kwargs)

    def batch_lines(self, *, completed: int = 0, failed: int = 0) -> None:
        """Lines/s is this counter's rate."""
        if completed:
            self.batch_lines_ended.labels(outcome="completed").inc(completed)
        if failed:
            self.batch_lines_ended.labels(outcome="failed").inc(failed)

    def batch_ended(self, status: str) -> None:
        self.batches_ended.labels(status=status).inc()

    def cache_lookup(self, tier: str, result: str) -> None:
        self.cache_lookups.labels(tier=tier, result=result).inc()

    def job_rejected(self, reason: str) -> None:
        """``reason``: queue_full, rate_limited or tenant_active."""
        self.rejected.labels(reason=reason).inc()

    def job_submitted(self, served_by: str) -> None:
        """``served_by``: queue, cache or coalesced."""
        self.submitted.labels(served_by=served_by).inc()

    def job_unreplicated(self) -> None:
        self.unreplicated.inc()


@dataclass(frozen=True)
class ModelLoad:
    """One model's load, for autoscaling its workers: jobs waiting and running (every priority, counted
    from the job records, not from queue lengths), its live workers, their slots and KV usage."""

    queued: int = 0
    running: int = 0
    workers: int = 0
    slots: int = 0
    kv_cache_usage: float = 0.0  # the mean over its live workers, 0..1


# Per-model gauges (label `model`): name -> (help, the ModelLoad field).
MODEL_GAUGES = {
    "model_jobs_queued": ("Jobs of the model waiting for a worker, every priority.", "queued"),
    "model_jobs_running": ("Jobs of the model a worker is running.", "running"),
    "model_workers": ("Live workers serving the model.", "workers"),
    "model_slots": ("Task slots (jobs at once) of the model's live workers together.", "slots"),
    "model_kv_cache_usage_perc": ("KV-cache budget reserved, mean over the model's live workers (1 = full).", "kv_cache_usage"),
}


@dataclass(frozen=True)
class SystemState:
    """What every API process reports alike, read from Redis at scrape time."""

    queue_depth: int = 0
    live_workers: int = 0
    restarts: dict[str, int] = field(default_factory=dict)  # process -> restarts by `llmjobs up`
    jobs_started: int = 0  # ever, by every worker (a Redis counter): with queue_depth, whether the queue drains
    redis_memory: dict[str, int] = field(default_factory=dict)  # INFO memory: used_memory, maxmemory, total_system_memory
    models: dict[str, ModelLoad] = field(default_factory=dict)  # model id -> its load
    batches: dict[str, int] = field(default_factory=dict)  # BatchLoad: active batches, their lines waiting and in flight
    webhooks: dict[str, float] = field(default_factory=dict)  # Outbox.stats: attempts by outcome, latency buckets, pending


# Redis' INFO memory fields the alerts read (deploy/alerts.yml: Redis memory near its limit).
REDIS_MEMORY = {
    "used_memory": "Memory Redis holds for data (INFO memory used_memory).",
    "maxmemory": "Redis' maxmemory (0: no limit set; then the host's memory is the limit).",
    "total_system_memory": "Memory of the host Redis runs on.",
}


BATCH_GAUGES = {
    "batches_active": "Batches that have not ended (validating, in progress, finalizing, cancelling).",
    "batch_lines_waiting": "Lines of active batches not yet fed to the queue (the batch queue depth).",
    "batch_lines_in_flight": "Lines of active batches queued or running as jobs now.",
}


class SystemCollector(Collector):
    """Queue depth, jobs started, live workers, each model's load, Redis memory and process restarts (the same for
    every API process)."""

    def __init__(self, read: Callable[[], SystemState]) -> None:
        self.read = read

    def collect(self) -> Iterator[Any]:
        state = self.read()
        yield GaugeMetricFamily(PREFIX + "queue_depth", "Jobs queued and not yet started.", value=state.queue_depth)
        yield GaugeMetricFamily(PREFIX + "workers_live", "Workers whose heartbeat is current.", value=state.live_workers)
        yield CounterMetricFamily(PREFIX + "jobs_started", "Jobs a worker started (claimed), by every worker.", value=state.jobs_started)
        for name, (doc, attribute) in MODEL_GAUGES.items():
            gauge = GaugeMetricFamily(PREFIX + name, doc, labels=["model"])
            for model, load in sorted(state.models.items()):
                gauge.add_metric([model], getattr(load, attribute))
            yield gauge
        for name, doc in REDIS_MEMORY.items():
            yield GaugeMetricFamily(PREFIX + "redis_" + name + "_bytes", doc, value=state.redis_memory.get(name, 0))
        for name, doc in BATCH_GAUGES.items():
            yield GaugeMetricFamily(PREFIX + name, doc, value=state.batches.get(name, 0))
        yield from webhook_families(state.webhooks)
        restarts = CounterMetricFamily(
            PREFIX + "process_restarts", "Processes `llmjobs up` started again after they died.", labels=["process"]
        )
        for name, count in sorted(state.restarts.items()):
            restarts.add_metric([name], count)
        yield restarts


@functools.cache
def api_metrics() -> ApiMetrics:
    """One set per process: the series register once, however many apps the process builds."""
    return ApiMetrics()


def render_api_metrics(system: Collector, *, multiprocess_dir: str) -> tuple[bytes, str]:
    """The text exposition for ``/metrics``: every API process's counters plus the system gauges."""
    if multiprocess_dir:  # set by `llmjobs api` (api/gunicorn_conf.py) for gunicorn's processes
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        metrics = api_metrics()
        for collector in (metrics.cache_lookups, metrics.submitted, metrics.rejected, metrics.unreplicated, metrics.batch_lines_ended,
                          metrics.batches_ended):  # fmt: skip
            registry.register(collector)
    registry.register(system)
    return generate_latest(registry), CONTENT_TYPE_LATEST
