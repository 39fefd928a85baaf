"""Liveness and readiness probes."""

from __future__ import annotations

import redis
from flask import Blueprint

from api.errors import error_response
from api.services import services

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
