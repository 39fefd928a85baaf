"""Short-lived stream tokens: what a browser puts in a stream URL instead of its API key.

Browsers cannot send headers on ``EventSource`` or WebSocket requests, so the owner of a job gets
a token with the job (submit, ``GET /v1/jobs/<id>``) and opens ``/v1/jobs/<id>/events?token=…``.
A token is signed with itsdangerous (HMAC-SHA1 over a timestamped payload; Flask's own signing
library, not hand-written crypto), names one job and its tenant, and opens a stream only for
``LLMJOBS_STREAM_TOKEN_TTL`` seconds. The signing secret is 32 random bytes created once in Redis
(``SET NX``), so every API process and host that shares the Redis shares it without configuration;
whoever can read Redis can read every job already, so it adds no new trust. Rotate it by deleting
``<prefix>:stream-secret``: API processes pick up the new one within ``SECRET_REFRESH_S``.
"""

from __future__ import annotations

import secrets
import threading
import time

import redis
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "llmjobs.stream-token"
SECRET_REFRESH_S = 10.0  # how long a process trusts its copy of the secret before reading Redis again


class StreamTokens:
    def __init__(self, client: redis.Redis, key_prefix: str, ttl_s: int) -> None:
        self.redis = client
        self.secret_key = f"{key_prefix}:stream-secret"
        self.ttl_s = ttl_s
        self._serializer: URLSafeTimedSerializer | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def _signer(self, *, refresh: bool = False) -> URLSafeTimedSerializer:
        with self._lock:
            if refresh or self._serializer is None or time.monotonic() - self._read_at > SECRET_REFRESH_S:
                with self.redis.pipeline(transaction=False) as pipe:
                    pipe.set(self.secret_key, secrets.token_hex(32), nx=True)
                    pipe.get(self.secret_key)
                    secret = pipe.execute()[1]
                self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
                self._read_at = time.monotonic()
            return self._serializer

    def issue(self, job_id: str, tenant: str) -> str:
        """A token that opens job ``job_id``'s stream for ``tenant`` during the next ``ttl_s`` seconds."""
        return self._signer().dumps([job_id, tenant])

    def tenant_for(self, token: str, job_id: str) -> str | None:
        """The tenant a valid, unexpired token for ``job_id`` was issued to; None otherwise."""
        for refresh in (False, True):  # a bad signature may mean the secret was rotated: read it again once
            try:
                bound = self._signer(refresh=refresh).loads(token, max_age=self.ttl_s)
            except SignatureExpired:
                return None
            except BadSignature:
                if refresh:
                    return None
                continue
            if isinstance(bound, list) and len(bound) == 2 and bound[0] == job_id and isinstance(bound[1], str):
                return bound[1]
            return None
        return None
