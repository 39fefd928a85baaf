"""A deadline for reading request bodies, so a client trickling its body cannot hold a connection forever.

gunicorn bounds the wait for request headers (its gevent worker reads them within the keep-alive
time) but not the body: a view's first read of ``wsgi.input`` blocks as long as the client keeps
sending a byte now and then. This WSGI middleware reads the body before the app sees it, within
``LLMJOBS_BODY_TIMEOUT`` seconds in total, and answers ``408`` with the usual JSON error otherwise.
Under the gevent worker (the default) a ``gevent.Timeout`` bounds the whole read, since gunicorn's
body reader loops over many small ``recv`` calls; elsewhere (gthread, tests) a socket timeout
bounds each wait for data. Bodies larger than the limit are left to Flask, which answers ``413``
without reading them.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

CHUNK = 64 * 1024


class BodyTooSlow(Exception):
    pass


def whole_read_deadline(seconds: float) -> contextlib.AbstractContextManager:
    """A gevent timeout when gevent runs this process (its worker patches sockets), else nothing."""
    try:
        from gevent import Timeout
        from gevent.monkey import is_module_patched
    except ImportError:  # gevent is optional for the gthread worker
        return contextlib.nullcontext()
    return Timeout(seconds, BodyTooSlow) if is_module_patched("socket") else contextlib.nullcontext()


class BodyDeadline:
    def __init__(self, app: Callable[..., Iterable[bytes]], timeout_s: float, max_bytes: int, large_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.large_paths = large_paths  # routes with bodies of their own limit (file uploads), streamed to their view
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")  # absent in-process (the Flask test client): nothing to wait on
        length = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if sock is None or not (chunked or length.strip() not in ("", "0")) or environ.get("PATH_INFO") in self.large_paths:
            return self.app(environ, start_response)
        if not chunked and (not length.strip().isdigit() or int(length) > self.max_bytes):
            return self.app(environ, start_response)  # werkzeug answers a bad length; Flask a 413
        try:
            with whole_read_deadline(self.timeout_s):
                body = self._read(environ["wsgi.input"], sock, None if chunked else int(length))
        except (BodyTooSlow, TimeoutError):
            return self._too_slow(start_response)
        finally:
            sock.settimeout(None)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)

    def _read(self, stream: Any, sock: Any, length: int | None) -> bytes:
        deadline = time.monotonic() + self.timeout_s
        wanted = self.max_bytes + 1 if length is None else length  # one byte over the limit is enough for Flask's 413
        parts: list[bytes] = []
        while wanted > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BodyTooSlow
            sock.settimeout(remaining)
            chunk = stream.read(min(CHUNK, wanted))
            if not chunk:
                break
            parts.append(chunk)
            wanted -= len(chunk)
        return b"".join(parts)

    def _too_slow(self, start_response: Callable[..., Any]) -> Iterable[bytes]:
        message = f"the request body did not arrive within LLMJOBS_BODY_TIMEOUT ({self.timeout_s:g} s)"
        body = json.dumps({"error": {"message": message, "type": "request_timeout", "param": None, "code": None}}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
        start_response("408 Request Timeout", headers)
        return [body]
