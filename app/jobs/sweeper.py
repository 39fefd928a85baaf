"""One background thread per API process for the periodic chores every live process shares:
requeue jobs whose lease lapsed, send again the tasks a Redis restart may have lost, expire queued
jobs whose deadline passed, sample the drain rate.
(Workers do the first two from their heartbeat.)"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, chores: list[Callable[[], object]], interval_s: float = 1.0) -> None:
        self.chores = chores
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmjobs-sweeper", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            for chore in self.chores:
                try:
                    chore()
                except (redis.RedisError, OSError) as exc:  # Redis away: try again next time
                    log.debug("sweeper: %s", exc)
