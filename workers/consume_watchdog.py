"""Liveness means consuming: notice a worker that stays connected but stopped taking tasks.

After a Redis reset a Celery worker can keep running and heartbeating while its consumer no
longer fetches messages (celery#8030, #9054, #10205). The heartbeat thread asks this watchdog
each beat: when messages have waited in the queue for ``stall_s`` while this worker had free
task slots and started nothing, the worker is stuck, and the only reliable cure is a fresh
process: the watchdog says so, and the host exits for its supervisor (``llmjobs up``, compose's
restart policy, Kubernetes) to start a new one. Its running jobs are taken over by their leases.
"""

from __future__ import annotations

import time
from collections.abc import Callable

STALL_S = 30.0


class ConsumeWatchdog:
    def __init__(self, stall_s: float = STALL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_s = stall_s
        self.clock = clock
        self._last_task_at = clock()
        self._stalled_since: float | None = None

    def task_started(self) -> None:
        self._last_task_at = self.clock()
        self._stalled_since = None

    def stuck(self, *, waiting: int, free_slots: int) -> bool:
        """One look per heartbeat: ``waiting`` messages in the queue, ``free_slots`` idle task threads."""
        now = self.clock()
        if waiting <= 0 or free_slots <= 0:
            self._stalled_since = None  # nothing to take, or no room to take it: not a stall
            return False
        if self._stalled_since is None:
            self._stalled_since = now
        return now - self._stalled_since >= self.stall_s and now - self._last_task_at >= self.stall_s
