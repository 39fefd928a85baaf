"""Per-tenant request rates (``LLMJOBS_RATE_LIMIT``, per-key overrides in ``LLMJOBS_API_KEYS``).

The ``limits`` library's moving window on Redis: one atomic script per check, shared by every API
process, exact at the window's edge (a fixed window would let twice the rate through across it).
Without API keys every request is the one anonymous tenant's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from app.config import RedisConfig
from app.errors import OverloadedError
from app.redis_conn import connect


class TenantRateLimits:
    def __init__(self, config: RedisConfig, default_rpm: int, per_tenant: Mapping[str, int]) -> None:
        self.default_rpm = default_rpm
        self.per_tenant = dict(per_tenant)
        # Its own pool with the API's short timeouts (a Redis outage answers 503, never hangs), built like every
        # other client of the project so that it follows a Sentinel failover too; `limits` only runs its scripts on it.
        pool = connect(config, connect_timeout_s=0.5, socket_timeout_s=2).connection_pool
        storage = RedisStorage("redis://", connection_pool=pool, key_prefix=f"{config.key_prefix}:ratelimit")
        self.limiter = MovingWindowRateLimiter(storage)

    def check(self, tenant: str) -> dict[str, str]:
        """Count one request of ``tenant``; return the ``X-RateLimit-*`` headers, or raise
        :class:`OverloadedError` (429) when the tenant is over its rate."""
        rpm = self.per_tenant.get(tenant, self.default_rpm)
        if not rpm:
            return {}
        item = RateLimitItemPerMinute(rpm)
        allowed = self.limiter.hit(item, tenant)
        stats = self.limiter.get_window_stats(item, tenant)
        headers = {
            "X-RateLimit-Limit": str(rpm),
            "X-RateLimit-Remaining": str(stats.remaining),
            "X-RateLimit-Reset": str(math.ceil(stats.reset_time)),
        }
        if not allowed:
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            raise OverloadedError("rate_limited", f"over {rpm} requests per minute for this tenant; retry in {wait} s", wait, headers)
        return headers
