"""Following a job's events live: SSE and WebSocket, with resume and full replay.

Callers authenticate with ``Authorization: Bearer <key>`` or, from a browser (whose EventSource and
WebSocket cannot send headers), with the job's short-lived ``?token=`` (api/stream_tokens.py)."""

from __future__ import annotations

import json
import re

from flask import Blueprint, request
from flask_sock import ConnectionClosed, Sock

from api.auth import require_stream_access
from api.services import services
from api.sse import job_frames, sse_response
from api.view_helpers import find_job
from app.errors import InvalidRequestError
from app.jobs.event_hub import follow
from app.jobs.submit import events_source

bp = Blueprint("stream", __name__, url_prefix="/v1")
bp.before_request(require_stream_access)
sock = Sock()


def last_event_id() -> int:
    """Where to resume: the ``Last-Event-ID`` header (or ``last_event_id`` query), -1 for the start."""
    raw = request.headers.get("Last-Event-ID", request.args.get("last_event_id", "")).strip()
    if not raw:
        return -1
    if not re.fullmatch(r"\d{1,9}", raw):
        raise InvalidRequestError("Last-Event-ID", f"Last-Event-ID must be an event id (a number) from this stream, got {raw[:40]!r}")
    return int(raw)


@bp.before_request
def _check_websocket_target() -> None:
    # flask-sock completes the handshake before the view runs: answer 404/400 first.
    if request.endpoint == "stream.job_websocket":
        find_job(request.view_args["job_id"])
        last_event_id()


@bp.get("/jobs/<job_id>/events")
def job_events(job_id: str):
    """The job's events as ``text/event-stream``: replayed from the start (or after
    ``Last-Event-ID``), then live, closing after the ``final`` event."""
    after = last_event_id()
    source = events_source(find_job(job_id))
    svc = services()
    return sse_response(job_frames(follow(svc.hub, svc.events, source, after=after)))


@sock.route("/jobs/<job_id>/ws", bp=bp)
def job_websocket(ws, job_id: str):
    """The same events as JSON WebSocket messages; the server closes after ``final``."""
    svc = services()
    # replay_ended=False: frames sent in the same instant as the handshake reply are dropped by
    # some WebSocket clients (simple-websocket reads the handshake and the frames after it in one
    # recv and, if the server closes at once, never parses the rest); the subscription's round
    # trip first separates them.
    for event in follow(svc.hub, svc.events, events_source(find_job(job_id)), after=last_event_id(), replay_ended=False):
        if event is None:
            if not ws.connected:
                return
            continue
        try:
            ws.send(getattr(event, "json", None) or json.dumps(event, separators=(",", ":")))
        except ConnectionClosed:
            return
