"""The engine's statistics as plain data; app/obs/worker_metrics.py turns them into Prometheus
series (vLLM v1 keeps the same split between its stats and its metrics)."""

from __future__ import annotations

from dataclasses import dataclass


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
