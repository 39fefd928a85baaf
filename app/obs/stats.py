"""How jobs ended, as plain data: the job runner fills it in, app/obs/worker_metrics.py turns it
into Prometheus series (vLLM v1 keeps the same split between its stats and its metrics)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class JobOutcome:
    """How one claimed job ended, as the job runner saw it."""

    job_id: str
    status: str
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    queue_wait_s: float | None = None
    ttft_s: float | None = None
    e2e_s: float | None = None
    token_gaps_s: list[float] = field(default_factory=list)  # between consecutive streamed tokens
