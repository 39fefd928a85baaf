"""The worker gate: task threads pass it before claiming a job; a rebuild of the engine closes it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Gate:
    """Task threads pass while it is open and below ``capacity``; :meth:`drained` closes it and
    waits for those inside.

    The capacity is the engine's: 1 for the naive engine, so with a pool sized for batching the
    other task threads wait here, before claiming a job, and their jobs stay queued (visible,
    cancellable, and not in the way of a drain) instead of piling up on the engine's lock.
    """

    def __init__(self, capacity: int | None = None) -> None:
        self._cond = threading.Condition()
        self._inside = 0
        self._closed = False
        self.capacity = capacity

    def set_capacity(self, capacity: int | None) -> None:
        with self._cond:
            self.capacity = capacity
            self._cond.notify_all()

    @contextmanager
    def passage(self) -> Iterator[None]:
        with self._cond:
            while self._closed or (self.capacity is not None and self._inside >= self.capacity):
                self._cond.wait()
            self._inside += 1
        try:
            yield
        finally:
            with self._cond:
                self._inside -= 1
                self._cond.notify_all()

    @contextmanager
    def drained(self) -> Iterator[None]:
        with self._cond:
            self._closed = True
            while self._inside:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._closed = False
                self._cond.notify_all()
