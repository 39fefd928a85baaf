"""The engine's statistics as plain data; app/obs/worker_metrics.py turns them into Prometheus
series (vLLM v1 keeps the same split between its stats and its metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of an engine, read between steps."""

    num_running: int = 0
    num_waiting: int = 0
    batch_size: int = 0  # sequences in the last step
    kv_cache_usage: float = 0.0  # reserved / budget, 0..1
    num_steps: int = 0
    prefix_cache_queries: int = 0  # prompts looked up
    prefix_cache_hits: int = 0  # prompts that reused a stored prefix
    prefix_cache_hit_tokens: int = 0
    num_preemptions: int = 0  # sequences sent back for recompute after an out-of-memory error
    spec_num_drafts: int = 0  # speculative verification passes
    spec_num_draft_tokens: int = 0  # tokens proposed
    spec_num_accepted_tokens: int = 0  # of which the model agreed with
    spec_num_backoffs: int = 0  # times a request stopped drafting for a while because it did not pay


def batching_stats(engine: Any) -> EngineStats:
    """A batching engine's snapshot: its scheduler's queues and KV, its prefix cache and its speculator."""
    scheduler, cache, spec = engine.scheduler, engine.prefix_cache, engine.speculator
    return EngineStats(
        num_running=len(scheduler.running) + len(scheduler.prefilling),
        num_waiting=len(scheduler.waiting) + len(engine._inbox) + len(engine.shared_prefill.held),
        batch_size=engine.last_batch_size,
        kv_cache_usage=scheduler.num_reserved_tokens / scheduler.max_kv_tokens,
        num_steps=engine.num_steps,
        prefix_cache_queries=cache.num_queries,
        prefix_cache_hits=cache.num_hits,
        prefix_cache_hit_tokens=cache.num_hit_tokens,
        num_preemptions=engine.num_preemptions,
        spec_num_drafts=spec.num_drafts,
        spec_num_draft_tokens=spec.num_proposed_tokens,
        spec_num_accepted_tokens=spec.num_accepted_tokens,
        spec_num_backoffs=spec.num_backoffs,
    )
