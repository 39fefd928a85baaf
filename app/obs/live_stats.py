"""The last minutes of work, for ``GET /v1/stats`` and the live page: every worker adds each job's end to a
10-second bucket in Redis (one hash per bucket: jobs ended, failed, output tokens, a TTFT histogram), kept
15 minutes; any API process reads the buckets of a window. Counts from every worker agree, which per-process
Prometheus counters could only do through a Prometheus server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis

from app.obs.stats import JobOutcome

BUCKET_S = 10
KEEP_S = 900
TTFT_BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # seconds; "+Inf" beyond


class LiveStats:
    def __init__(self, client: redis.Redis, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self.redis = client
        self.prefix = prefix
        self.clock = clock

    def key(self, bucket: int) -> str:
        return f"{self.prefix}:live:{bucket}"

    def record(self, outcome: JobOutcome) -> None:
        """One ended job (a worker's side)."""
        key = self.key(int(self.clock() // BUCKET_S) * BUCKET_S)
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, "ended", 1)
            pipe.hincrby(key, "failed", int(outcome.status == "failed"))
            pipe.hincrby(key, "tokens", outcome.completion_tokens)
            if outcome.ttft_s is not None:
                pipe.hincrby(key, "ttft_le:" + next((f"{b:g}" for b in TTFT_BOUNDS if outcome.ttft_s <= b), "+Inf"), 1)
            pipe.expire(key, KEEP_S)
            pipe.execute()

    def window(self, seconds: int = 300) -> dict[str, Any]:
        """The buckets of the last ``seconds`` (oldest first) and the window's totals: output tok/s of each bucket,
        the window's TTFT p95 (the upper bound of the histogram bin it falls in) and error rate."""
        last = int(self.clock() // BUCKET_S) * BUCKET_S
        starts = list(range(last - seconds + BUCKET_S, last + BUCKET_S, BUCKET_S))
        with self.redis.pipeline(transaction=False) as pipe:
            for start in starts:
                pipe.hgetall(self.key(start))
            buckets = pipe.execute()
        series, bins = [], dict.fromkeys([*(f"{b:g}" for b in TTFT_BOUNDS), "+Inf"], 0)
        ended = failed = tokens = 0
        for start, fields in zip(starts, buckets, strict=True):
            counts = {name: int(value) for name, value in fields.items()}
            for name in bins:
                bins[name] += counts.get(f"ttft_le:{name}", 0)
            ended, failed, tokens = ended + counts.get("ended", 0), failed + counts.get("failed", 0), tokens + counts.get("tokens", 0)
            series.append({"t": start, "out_tok_per_s": counts.get("tokens", 0) / BUCKET_S, "ended": counts.get("ended", 0),
                           "failed": counts.get("failed", 0)})  # fmt: skip
        return {"window_s": seconds, "bucket_s": BUCKET_S, "series": series, "jobs_ended": ended, "jobs_failed": failed,
                "error_rate": failed / ended if ended else 0.0, "out_tok_per_s": tokens / seconds,
                "ttft_p95_s": quantile_bound(bins, 0.95)}  # fmt: skip


def quantile_bound(bins: dict[str, int], q: float) -> float | None:
    """The upper bound of the histogram bin holding quantile ``q``: None without samples, the last bound (60) for
    "that or more" (JSON has no infinity)."""
    total = sum(bins.values())
    if not total:
        return None
    seen = 0
    for bound, count in bins.items():
        seen += count
        if seen >= q * total:
            return TTFT_BOUNDS[-1] if bound == "+Inf" else float(bound)
    return TTFT_BOUNDS[-1]
