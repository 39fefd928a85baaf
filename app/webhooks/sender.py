"""One webhook attempt: sign the body with the tenant's secret (Standard Webhooks' own signer) and POST it.

No redirect is followed (httpcore follows none): a 3xx is a failed attempt, as Standard Webhooks asks, so a
receiver cannot bounce the call to an address the URL policy would refuse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpcore
from standardwebhooks import Webhook

from app.webhooks.guarded_backend import GuardedBackend
from app.webhooks.url_policy import AllowList, UnsafeDestination

USER_AGENT = b"llmjobs-webhooks/1"
MAX_RESPONSE_BYTES = 65536  # read (and dropped) so the connection can be kept alive; a longer answer closes it


@dataclass(frozen=True)
class Attempt:
    at: float
    duration_s: float
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver asks never to be called again for this event."""
        return self.status_code == 410

    def as_dict(self) -> dict[str, Any]:
        outcome = {"status_code": self.status_code} if self.status_code is not None else {"error": self.error}
        return {"at": round(self.at, 6), "duration_s": round(self.duration_s, 6), **outcome}


class Sender:
    def __init__(self, allow: AllowList, timeout_s: float, max_connections: int = 100) -> None:
        self.timeout_s = timeout_s
        self.pool = httpcore.ConnectionPool(
            network_backend=GuardedBackend(allow), max_connections=max_connections, keepalive_expiry=30.0, retries=0
        )

    def send(self, url: str, event_id: str, body: bytes, secret: str) -> Attempt:
        now = datetime.now(UTC)
        headers = [
            (b"content-type", b"application/json"),
            (b"user-agent", USER_AGENT),
            (b"webhook-id", event_id.encode()),
            (b"webhook-timestamp", str(int(now.timestamp())).encode()),
            (b"webhook-signature", Webhook(secret).sign(event_id, now, body).encode()),
        ]
        start = time.monotonic()
        timeouts = {name: self.timeout_s for name in ("connect", "read", "write", "pool")}
        try:
            with self.pool.stream("POST", url, headers=headers, content=body, extensions={"timeout": timeouts}) as response:
                read = 0
                for chunk in response.iter_stream():
                    read += len(chunk)
                    if read > MAX_RESPONSE_BYTES:
                        break
                return Attempt(now.timestamp(), time.monotonic() - start, status_code=response.status)
        except UnsafeDestination as exc:
            error = f"refused: {exc}"
        except httpcore.TimeoutException:
            error = f"no answer within {self.timeout_s:g} s"
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return Attempt(now.timestamp(), time.monotonic() - start, error=error)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
