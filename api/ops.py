"""Liveness and readiness probes (ours, and the ``/health`` and ``/version`` that vLLM-minded clients check)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import redis
from flask import Blueprint, Response

from api.auth import require_tenant
from api.errors import error_response
from api.services import Services, services
from app.obs.api_metrics import REDIS_MEMORY, SystemCollector, SystemState, render_api_metrics

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up (nothing else is checked)."""
    return {"status": "ok"}


@bp.get("/health")
def health():
    """vLLM's, TGI's and llama-server's liveness route (benchmark clients check it before a run): 200 while the process is up."""
    return {"status": "ok"}


@bp.get("/version")
def server_version():
    """The server's version (vLLM's ``GET /version``); with API keys set, for key holders only."""
    require_tenant()
    try:
        return {"version": version("llmjobs")}
    except PackageNotFoundError:  # run from a source tree that was never installed
        return {"version": "unknown"}


@bp.get("/readyz")
def readyz():
    """Ready when Redis answers and a live worker consumes the default model's queue; ``workers`` lists those,
    ``others`` the live workers of the other models."""
    svc = services()
    queue = svc.catalog.queue_for_model(svc.model_name)
    try:
        svc.jobs.redis.ping()
        live = svc.registry.live()
    except redis.RedisError as exc:
        return error_response(503, "not_ready", f"Redis is unreachable: {exc}")
    workers = [info for info in live if queue in info.get("queues", [])]
    if not workers:
        return error_response(503, "not_ready", f"no live worker consumes the queue {queue!r}")
    return {"status": "ready", "queue": queue, "workers": workers, "others": [info for info in live if info not in workers]}


@bp.get("/metrics")
def metrics():
    """Prometheus text format: the API processes' counters plus queue depth, live workers, restarts."""
    svc = services()
    body, content_type = render_api_metrics(SystemCollector(lambda: system_state(svc)), multiprocess_dir=svc.config.api.metrics_dir)
    return Response(body, content_type=content_type)


def system_state(svc: Services) -> SystemState:
    try:
        client, keys = svc.jobs.redis, svc.jobs.keys
        restarts = {name: int(count) for name, count in client.hgetall(keys.restarts).items()}
        live = len(svc.registry.live())  # every model's
        memory = {name: int(value) for name, value in client.info("memory").items() if name in REDIS_MEMORY}
        started = int(client.get(keys.started) or 0)
        return SystemState(
            client.zcard(keys.queued), live, restarts, started, memory, svc.catalog.load(), svc.batches.load(), svc.outbox.stats()
        )
    except redis.RedisError:  # scraped during an outage: the API's own counters still answer
        return SystemState()
