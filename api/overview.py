"""What ``GET /v1/stats`` and the live page show, read from what Redis already holds: the queue by priority and by
model, running jobs, live workers and their heartbeats, the last minutes' output tok/s, TTFT p95 and error rate
(app/obs/live_stats.py), active batches; and, for the caller's tenant, its recent jobs and batches."""

from __future__ import annotations

import time
from typing import Any

from api.services import Services
from app.jobs.record import queue_score

PRIORITIES = range(10)
RECENT_JOBS = 20
RECENT_BATCHES = 10


def summary(svc: Services, window_s: int = 300) -> dict[str, Any]:
    client, keys = svc.jobs.redis, svc.jobs.keys
    with client.pipeline(transaction=False) as pipe:
        for priority in PRIORITIES:  # a queue score is priority * 1e10 + submit time (app/jobs/record.py)
            pipe.zcount(keys.queued, queue_score(priority, 0), f"({queue_score(priority + 1, 0)!r}")
        pipe.zcard(keys.leases)
        *by_priority, running = pipe.execute()
    now = time.time()
    workers = [{"id": info.get("id"), "model": info.get("model"), "pid": info.get("pid"), "num_running": info.get("num_running"),
                "slots": info.get("slots"), "kv_cache_usage": info.get("kv_cache_usage"),
                "beat_age_s": round(now - info["beat_at"], 2) if info.get("beat_at") else None}
               for info in svc.registry.live()]  # fmt: skip
    models = {model: {"queued": load.queued, "running": load.running, "workers": load.workers, "slots": load.slots}
              for model, load in svc.catalog.load().items()}  # fmt: skip
    return {
        "object": "stats",
        "time": now,
        "queue": {
            "depth": sum(by_priority),
            "by_priority": {str(p): n for p, n in zip(PRIORITIES, by_priority, strict=True) if n},
            "by_model": models,
        },  # fmt: skip
        "running": running,
        "workers": workers,
        "recent": svc.live.window(window_s),
        "batches": svc.batches.load(),
    }


def tenant_view(svc: Services, tenant: str) -> dict[str, Any]:
    """The summary plus the tenant's recent jobs and batches: one live page update."""
    jobs, _ = svc.listing.page(tenant, limit=RECENT_JOBS)
    batches, _ = svc.batches.list(tenant, limit=RECENT_BATCHES, after=None)
    return {**summary(svc), "jobs": jobs, "tenant_batches": batches}
