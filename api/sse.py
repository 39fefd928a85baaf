"""Server-sent events framing and the client-disconnect check."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response

KEEPALIVE = ": keep-alive\n\n"


def sse_frame(event: dict[str, Any]) -> str:
    """One job event as an SSE frame; its ``id:`` is the event index (for Last-Event-ID)."""
    data = getattr(event, "json", None) or json.dumps(event, separators=(",", ":"))
    return f"id: {event['index']}\nevent: {event['type']}\ndata: {data}\n\n"


def sse_response(frames: Iterable[str], headers: dict[str, str] | None = None, status: int = 200) -> Response:
    response = Response(frames, status=status, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass frames on at once
    response.headers.update(headers or {})
    return response


def job_frames(events: Iterator[dict[str, Any] | None]) -> Iterator[str]:
    for event in events:
        yield KEEPALIVE if event is None else sse_frame(event)


def client_gone(environ: dict[str, Any]) -> bool:
    """True when the client closed its connection (gunicorn exposes the socket).

    WSGI offers no disconnect signal while a request waits without writing, so we
    peek at the socket: readable with nothing to read means the peer hung up.
    """
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True
