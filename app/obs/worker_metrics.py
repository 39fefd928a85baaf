"""A worker process's Prometheus series, built from the plain stats of app/engine/stats.py and
app/obs/stats.py. One prefix, ``llmjobs_``; names, units and buckets after vLLM's set
(``vllm:time_to_first_token_seconds`` -> ``llmjobs_time_to_first_token_seconds``, ...):
per-request histograms and counters observed when a job ends, and engine gauges read at scrape
time. Each worker process serves its own registry on ``LLMJOBS_WORKER_METRICS_PORT``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from app.engine.stats import EngineStats
from app.obs.api_metrics import PREFIX
from app.obs.stats import JobOutcome

# vLLM's buckets for the same series.
TTFT_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
    160.0,
    640.0,
    2560.0,
)
ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0)
LATENCY_BUCKETS = (
    0.3,
    0.5,
    0.8,
    1.0,
    1.5,
    2.0,
    2.5,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    40.0,
    50.0,
    60.0,
    120.0,
    240.0,
    480.0,
    960.0,
    1920.0,
    7680.0,
)
TOKEN_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


class WorkerMetrics:
    """A worker process's series, in their own registry."""

    def __init__(
        self,
        registry: CollectorRegistry,
        engine_stats: Callable[[], EngineStats | None],
        memory: Callable[[], dict[str, Any]],
        model_info: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.registry = registry

        def histogram(name: str, doc: str, buckets: tuple) -> Histogram:
            return Histogram(PREFIX + name, doc, buckets=buckets, registry=registry)

        self.ttft = histogram("time_to_first_token_seconds", "Time from submission to the first generated token.", TTFT_BUCKETS)
        self.itl = histogram("inter_token_latency_seconds", "Time between consecutive generated tokens of a request.", ITL_BUCKETS)
        self.e2e = histogram("e2e_request_latency_seconds", "Time from submission to the end of generation.", LATENCY_BUCKETS)
        self.queue_time = histogram(
            "request_queue_time_seconds", "Time a job waited in the queue before a worker started it.", LATENCY_BUCKETS
        )
        self.prompt_tokens_hist = histogram("request_prompt_tokens", "Prompt tokens per request.", TOKEN_BUCKETS)
        self.generation_tokens_hist = histogram("request_generation_tokens", "Generated tokens per request.", TOKEN_BUCKETS)
        self.requests = Counter(
            PREFIX + "requests",
            "Jobs ended by this worker, by final status and finish reason.",
            ["status", "finish_reason"],
            registry=registry,
        )
        self.prompt_tokens = Counter(PREFIX + "prompt_tokens", "Prompt tokens processed.", registry=registry)
        self.generation_tokens = Counter(PREFIX + "generation_tokens", "Tokens generated.", registry=registry)
        registry.register(_EngineCollector(engine_stats, memory, model_info))

    def job_ended(self, outcome: JobOutcome) -> None:
        self.requests.labels(status=outcome.status, finish_reason=outcome.finish_reason or "none").inc()
        if outcome.queue_wait_s is not None:
            self.queue_time.observe(max(0.0, outcome.queue_wait_s))
        if outcome.ttft_s is not None:
            self.ttft.observe(max(0.0, outcome.ttft_s))
        if outcome.e2e_s is not None:
            self.e2e.observe(max(0.0, outcome.e2e_s))
        for gap in outcome.token_gaps_s:
            self.itl.observe(gap)
        if outcome.completion_tokens or outcome.prompt_tokens:
            self.prompt_tokens_hist.observe(outcome.prompt_tokens)
            self.generation_tokens_hist.observe(outcome.completion_tokens)
            self.prompt_tokens.inc(outcome.prompt_tokens)
            self.generation_tokens.inc(outcome.completion_tokens)


class _EngineCollector(Collector):
    """Gauges read from the engine and the process when Prometheus scrapes."""

    def __init__(
        self, engine_stats: Callable[[], EngineStats | None], memory: Callable[[], dict[str, Any]], model_info: Callable[[], dict[str, str]]
    ) -> None:
        self.engine_stats = engine_stats
        self.memory = memory
        self.model_info = model_info

    def collect(self) -> Iterator[Any]:
        info = self.model_info()
        if info:  # what the engine runs with now: engine, device, quantization, attention
            family = GaugeMetricFamily(PREFIX + "model_info", "The engine and model settings in use (value 1).", labels=sorted(info))
            family.add_metric([info[k] for k in sorted(info)], 1)
            yield family
        stats = self.engine_stats() or EngineStats()
        for name, doc, value in (
            ("num_requests_running", "Sequences in the running batch (prefilling included).", stats.num_running),
            ("num_requests_waiting", "Requests handed to the engine and waiting for a slot.", stats.num_waiting),
            ("batch_size", "Sequences in the engine's last step.", stats.batch_size),
            ("kv_cache_usage_perc", "KV-cache budget reserved by admitted sequences (1 = full).", stats.kv_cache_usage),
        ):
            yield GaugeMetricFamily(PREFIX + name, doc, value=value)
        yield CounterMetricFamily(PREFIX + "engine_steps", "Engine steps run.", value=stats.num_steps)
        yield CounterMetricFamily(
            PREFIX + "prefix_cache_queries", "Prompts looked up in the prefix-KV cache.", value=stats.prefix_cache_queries
        )
        yield CounterMetricFamily(PREFIX + "prefix_cache_hits", "Prompts that reused a stored prefix.", value=stats.prefix_cache_hits)
        yield CounterMetricFamily(
            PREFIX + "prefix_cache_hit_tokens", "Prompt tokens taken from the prefix-KV cache.", value=stats.prefix_cache_hit_tokens
        )
        yield CounterMetricFamily(PREFIX + "spec_decode_num_drafts", "Speculative verification passes.", value=stats.spec_num_drafts)
        yield CounterMetricFamily(PREFIX + "spec_decode_num_draft_tokens", "Draft tokens proposed.", value=stats.spec_num_draft_tokens)
        yield CounterMetricFamily(
            PREFIX + "spec_decode_num_accepted_tokens", "Draft tokens the model accepted.", value=stats.spec_num_accepted_tokens
        )
        yield CounterMetricFamily(
            PREFIX + "spec_decode_num_backoffs",
            "Times a request paused drafting because its speculative passes cost more per token than plain steps.",
            value=stats.spec_num_backoffs,
        )
        if stats.spec_num_draft_tokens:
            yield GaugeMetricFamily(
                PREFIX + "spec_decode_acceptance_rate",
                "Accepted / proposed draft tokens so far.",
                value=stats.spec_num_accepted_tokens / stats.spec_num_draft_tokens,
            )
            yield GaugeMetricFamily(
                PREFIX + "spec_decode_mean_accepted_length",
                "Mean draft tokens accepted per verification pass.",
                value=stats.spec_num_accepted_tokens / stats.spec_num_drafts,
            )
        yield CounterMetricFamily(
            PREFIX + "num_preemptions", "Sequences sent back for recompute after an out-of-memory error.", value=stats.num_preemptions
        )
        memory = self.memory()
        yield GaugeMetricFamily(PREFIX + "worker_rss_bytes", "Resident memory of the worker process.", value=memory.get("rss_bytes", 0))
        for key, name in (("cuda_allocated_bytes", "cuda_memory_allocated_bytes"), ("cuda_reserved_bytes", "cuda_memory_reserved_bytes")):
            if key in memory:
                yield GaugeMetricFamily(PREFIX + name, f"CUDA memory {name.split('_')[2]} by PyTorch.", value=memory[key])
