"""The operator's figures: one JSON summary, and the same, with the caller's recent jobs and batches, as a live
stream of server-sent events (about once a second) for the page."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import redis
from flask import Blueprint, g

from api.auth import require_tenant
from api.overview import summary, tenant_view
from api.services import Services, services
from api.sse import sse_response
from api.view_helpers import float_arg
from app.errors import InvalidRequestError

bp = Blueprint("stats", __name__, url_prefix="/v1")
bp.before_request(require_tenant)

PERIOD_S = 1.0
MAX_STREAM_S = 3600  # a page reconnects after an hour (EventSource and the page's reader both do)


@bp.get("/stats")
def stats():
    """Queue depth by priority and model, running jobs, live workers and their heartbeats, the last 5 minutes'
    output tok/s, TTFT p95 and error rate in 10-second buckets, active batches."""
    return summary(services())


@bp.get("/stats/stream")
def stats_stream():
    """``event: stats`` every second: the summary plus the caller's 20 newest jobs and 10 newest batches."""
    period = float_arg("period")
    if period is not None and not 0.2 <= period <= 10:
        raise InvalidRequestError("period", f"period: 0.2 to 10 seconds, got {period:g}")
    return sse_response(frames(services(), g.tenant, period or PERIOD_S))


def frames(svc: Services, tenant: str, period_s: float) -> Iterator[str]:
    deadline = time.monotonic() + MAX_STREAM_S
    while time.monotonic() < deadline:
        try:
            yield f"event: stats\ndata: {json.dumps(tenant_view(svc, tenant), separators=(',', ':'))}\n\n"
        except redis.RedisError as exc:  # Redis away: say so and keep the stream (the page shows it)
            yield f"event: unavailable\ndata: {json.dumps({'error': str(exc)})}\n\n"
        time.sleep(period_s)
