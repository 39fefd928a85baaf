"""Who is calling: bearer API keys (each belongs to a tenant), or a stream token on the stream routes.

Keys are kept as SHA-256 digests (``LLMJOBS_API_KEYS_FILE``; plaintext ``LLMJOBS_API_KEYS`` are
hashed at start), and a presented key is hashed and compared with every digest in constant time
(``hmac.compare_digest``, no early exit). Keys never travel in a URL: a browser's EventSource or
WebSocket passes the job's short-lived stream token instead (api/stream_tokens.py).
"""

from __future__ import annotations

import hmac

from flask import abort, current_app, g, request

from api.services import services
from api.stream_tokens import StreamTokens
from app.settings.value_types import DIGEST_PREFIX, key_digest

ANONYMOUS = ""  # the tenant of every job when no keys are configured
KEY_IN_URL = (
    "API keys are not accepted in a URL (they end up in logs): send 'Authorization: Bearer <key>'; a stream takes ?token=<stream_token>"
)


def key_table() -> tuple[tuple[str, str], ...]:
    """``(digest, tenant)`` for every configured key, computed once per app."""
    table = current_app.extensions.get("llmjobs.key_table")
    if table is None:
        keys = services().config.api.api_keys
        table = tuple((key if key.startswith(DIGEST_PREFIX) else key_digest(key), tenant) for key, tenant in keys.items())
        current_app.extensions["llmjobs.key_table"] = table
    return table


def stream_tokens() -> StreamTokens:
    tokens = current_app.extensions.get("llmjobs.stream_tokens")
    if tokens is None:
        svc = services()
        tokens = StreamTokens(svc.jobs.redis, svc.jobs.keys.prefix, svc.config.api.stream_token_ttl_s)
        current_app.extensions["llmjobs.stream_tokens"] = tokens
    return tokens


def tenant_of_key(presented: str) -> str | None:
    digest = key_digest(presented)
    found = None
    for stored, tenant in key_table():
        if hmac.compare_digest(stored, digest):  # every entry compared: the time does not tell which matched
            found = tenant
    return found


def require_tenant() -> None:
    """``before_request`` hook: set ``g.tenant`` from ``Authorization: Bearer <key>`` or answer 401."""
    if not key_table():
        g.tenant = ANONYMOUS
        return
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        abort(401, KEY_IN_URL if "api_key" in request.args else "missing API key: send 'Authorization: Bearer <key>'")
    tenant = tenant_of_key(presented.strip())
    if tenant is None:
        abort(401, "invalid API key")
    g.tenant = tenant


def require_stream_access() -> None:
    """``before_request`` hook of the stream routes: a bearer key, or the job's ``?token=``."""
    if not key_table():
        g.tenant = ANONYMOUS
        return
    token = request.args.get("token")
    if token is None:
        require_tenant()
        return
    tenant = stream_tokens().tenant_for(token, (request.view_args or {}).get("job_id", ""))
    if tenant is None:
        abort(401, "invalid or expired stream token: get a fresh one from GET /v1/jobs/<id> (its stream_token)")
    g.tenant = tenant


def require_tenant_unless_public() -> None:
    """``before_request`` hook of the playground and docs: open without keys, or with LLMJOBS_PUBLIC_PAGES=on."""
    if not services().config.api.public_pages:
        require_tenant()


def issue_stream_token(job_id: str) -> str:
    """A stream token for the caller's job (the caller owns it: the view found it for ``g.tenant``)."""
    return stream_tokens().issue(job_id, g.tenant)


def require_admin() -> None:
    """``before_request`` hook of the admin routes: a key of a tenant in ``LLMJOBS_ADMIN_TENANTS`` (403 for others);
    without keys configured, whoever reaches the API (it binds to loopback unless told otherwise)."""
    require_tenant()
    if key_table() and g.tenant not in services().config.api.admin_tenants:
        abort(403, "this route needs an admin key (a tenant listed in LLMJOBS_ADMIN_TENANTS)")
