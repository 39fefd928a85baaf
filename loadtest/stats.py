"""Percentiles and per-run summaries: pure functions over request samples."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

PERCENTILES = (50, 90, 95, 99)


@dataclass
class Sample:
    """One measured request."""

    target: str
    index: int
    started_at: float  # seconds since the run began
    ok: bool
    error: str | None = None  # kind: "http_503", "timeout", "connect", "broken_stream", "bad_response", "failed", "short_output"
    ttft_s: float | None = None
    e2e_s: float | None = None
    token_times_s: list[float] = field(default_factory=list)  # arrival of each output chunk, since the request began
    output_tokens: int = 0
    prompt_tokens: int | None = None
    cached: bool | None = None

    @property
    def itl_s(self) -> list[float]:
        """Inter-token latencies: the gaps between successive output chunks."""
        times = self.token_times_s
        return [b - a for a, b in itertools.pairwise(times)]

    @property
    def tpot_s(self) -> float | None:
        """Time per output token after the first."""
        if self.ttft_s is None or self.e2e_s is None or self.output_tokens < 2:
            return None
        return (self.e2e_s - self.ttft_s) / (self.output_tokens - 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (q in 0..100), linearly interpolated (numpy's default method).

    The one percentile of every benchmark here, HTTP and in-process, so that their p95s compare."""
    array = np.fromiter(values, dtype=float)
    if not array.size:
        raise ValueError("percentile of no values")
    return float(np.percentile(array, q))


def distribution(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    figures = {f"p{q}": percentile(values, q) for q in PERCENTILES}
    figures["mean"] = statistics.fmean(values)
    return {name: round(value, 6) for name, value in figures.items()}


def summarize(samples: list[Sample], wall_s: float) -> dict[str, Any]:
    """The figures of one run: latency distributions, throughput, errors by kind, cache share."""
    ok = [s for s in samples if s.ok]
    errors = Counter(s.error or "unknown" for s in samples if not s.ok)
    output_tokens = sum(s.output_tokens for s in ok)
    cache_known = [s for s in ok if s.cached is not None]
    return {
        "requests": len(samples),
        "succeeded": len(ok),
        "failed": len(samples) - len(ok),
        "errors": dict(sorted(errors.items())),
        "error_rate": round((len(samples) - len(ok)) / len(samples), 6) if samples else 0.0,
        "wall_s": round(wall_s, 6),
        "requests_per_s": round(len(ok) / wall_s, 6) if wall_s > 0 else 0.0,
        "output_tokens": output_tokens,
        "output_tokens_per_s": round(output_tokens / wall_s, 6) if wall_s > 0 else 0.0,
        "ttft_s": distribution([s.ttft_s for s in ok if s.ttft_s is not None]),
        "itl_s": distribution([gap for s in ok for gap in s.itl_s]),
        "tpot_s": distribution([t for s in ok if (t := s.tpot_s) is not None]),
        "e2e_s": distribution([s.e2e_s for s in ok if s.e2e_s is not None]),
        "cache_hit_share": round(sum(bool(s.cached) for s in cache_known) / len(cache_known), 6) if cache_known else None,
    }
