"""A real webhook receiver on loopback, for the tests and the webhook benchmark: it verifies every call with the
``standardwebhooks`` library (the other side's own verifier, never our code), notes when each arrived, and answers
each path by a plan: statuses in turn, or a hang. It can be stopped (its port refuses connections, its open
connections are cut) and started again on the same port."""

from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True  # start again on the same port at once
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a caller that gave up on a hanging answer is expected
            super().handle_error(request, client_address)


HANG = "hang"  # a plan step: hold the call this many seconds (HANG, s), then answer 503


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    status: int = 0  # what the receiver answered (0: it hung and the caller went away first, as far as it knows)
    payload: Any = None  # the verified, parsed body (None: the signature did not verify)
    error: str = ""


@dataclass
class Receiver:
    port: int
    secret: str
    plans: dict[str, list[Any]] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _connections: set[socket.socket] = field(default_factory=set)  # kept-alive ones too: stop() cuts them
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{path}"

    def plan(self, path: str, *steps: Any) -> None:
        """How ``path`` answers its next calls: a status, or (HANG, seconds); after the plan, 204."""
        self.plans[path] = list(steps)

    def received(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.path == path]

    def accepted(self, path: str) -> list[Delivery]:
        return [d for d in self.received(path) if 200 <= d.status < 300]

    def wait_accepted(self, path: str, count: int = 1, timeout: float = 60) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(accepted := self.accepted(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout:g} s for {count} accepted call(s) on /{path}; got {self.received(path)}")
            time.sleep(0.02)
        return accepted

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                delivery = Delivery(self.path.lstrip("/"), dict(self.headers), body, time.time())
                try:
                    delivery.payload = Webhook(receiver.secret).verify(body, delivery.headers)
                except WebhookVerificationError as exc:
                    delivery.error = str(exc)
                with receiver._lock:
                    steps = receiver.plans.get(delivery.path, [])
                    step = steps.pop(0) if steps else 204
                    receiver.deliveries.append(delivery)
                if isinstance(step, tuple) and step[0] == HANG:
                    time.sleep(step[1])
                    step = 503
                status = step if delivery.payload is not None else 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                delivery.status = status

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port and every open connection: calls are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:  # closed by its client meanwhile
                    pass
