"""How fast the queue drains, for the ``Retry-After`` of a full queue.

Workers count every job start in Redis (the claim script); each API process samples that counter
about once a second and keeps the last minute of samples, so an estimate costs no round trip.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

import redis

from app.redis_conn import Keys

WINDOW_S = 60.0
MIN_RETRY_S, MAX_RETRY_S = 1, 60
IDLE_RETRY_S = 5  # nothing started lately (no worker, or all busy with long jobs): a modest wait


class DrainRate:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._samples: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def sample(self) -> None:
        started = int(self.redis.get(self.keys.started) or 0)
        now = time.monotonic()
        with self._lock:
            self._samples.append((now, started))
            while self._samples and now - self._samples[0][0] > WINDOW_S:
                self._samples.popleft()

    def per_second(self) -> float:
        with self._lock:
            if len(self._samples) < 2:
                return 0.0
            (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def retry_after(self, jobs_ahead: int) -> int:
        """Seconds until about ``jobs_ahead`` queued jobs have started, at the recent rate."""
        rate = self.per_second()
        if rate <= 0:
            return IDLE_RETRY_S
        return max(MIN_RETRY_S, min(MAX_RETRY_S, math.ceil(jobs_ahead / rate)))
