"""httpcore's network backend, connecting only to addresses the URL policy allows.

The check happens when the connection is made, on the addresses resolved then: a host that resolved to a public
address when the webhook was accepted and to 127.0.0.1 now (DNS rebinding) is refused. TLS still verifies the
certificate against the URL's host name (httpcore passes the origin's host to ``start_tls``, not the address).
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore

from app.webhooks.url_policy import AllowList, Resolve, allowed_addresses, system_resolve


class GuardedBackend(httpcore.SyncBackend):
    def __init__(self, allow: AllowList, resolve: Resolve = system_resolve) -> None:
        self.allow = allow
        self.resolve = resolve

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:  # fmt: skip
        failure: httpcore.ConnectError | None = None
        for address in allowed_addresses(host, port, self.allow, self.resolve):  # UnsafeDestination: none may be called
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # the next address of the name, as a browser would
                failure = exc
        assert failure is not None
        raise failure
