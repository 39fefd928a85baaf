"""Liveness and readiness probes."""

from __future__ import annotations

import redis
from flask import Blueprint, Response

from api.errors import error_response
from api.services import Services, services
from app.obs.api_metrics import SystemCollector, SystemState, render_api_metrics

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up (nothing else is checked)."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Ready when Redis answers and a live worker consumes the generation queue."""
    svc = services()
    queue = svc.config.worker.queue
    try:
        svc.jobs.redis.ping()
        workers = svc.registry.live(queue)
    except redis.RedisError as exc:
        return error_response(503, "not_ready", f"Redis is unreachable: {exc}")
    if not workers:
        return error_response(503, "not_ready", f"no live worker consumes the queue {queue!r}")
    return {"status": "ready", "queue": queue, "workers": workers}


@bp.get("/metrics")
def metrics():
    """Prometheus text format: the API processes' counters plus queue depth, live workers, restarts."""
    svc = services()
    body, content_type = render_api_metrics(SystemCollector(lambda: system_state(svc)), multiprocess_dir=svc.config.api.metrics_dir)
    return Response(body, content_type=content_type)


def system_state(svc: Services) -> SystemState:
    try:
        restarts = {name: int(count) for name, count in svc.jobs.redis.hgetall(svc.jobs.keys.restarts).items()}
        return SystemState(svc.jobs.redis.zcard(svc.jobs.keys.queued), len(svc.registry.live(svc.config.worker.queue)), restarts)
    except redis.RedisError:  # scraped during an outage: the API's own counters still answer
        return SystemState()
