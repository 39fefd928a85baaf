"""Optional bearer API keys: each key belongs to a tenant, and tenants see only their own jobs."""

from __future__ import annotations

import hmac

from flask import abort, g, request

from api.services import services

ANONYMOUS = ""  # the tenant of every job when no keys are configured


def require_tenant() -> None:
    """``before_request`` hook: set ``g.tenant`` or answer 401."""
    keys = services().config.api.api_keys
    if not keys:
        g.tenant = ANONYMOUS
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" and request.method == "GET" and request.args.get("api_key"):
        # Browsers' EventSource and WebSocket cannot send headers: streams may take the key as a query.
        scheme, token = "bearer", request.args["api_key"]
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, "missing API key: send 'Authorization: Bearer <key>'")
    token = token.strip()
    for key, tenant in keys.items():
        if hmac.compare_digest(key.encode(), token.encode()):  # constant time per key
            g.tenant = tenant
            return
    abort(401, "invalid API key")
