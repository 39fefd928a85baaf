"""Shared by the flags' unit tests: a worker gate whose blocked threads can be waited for, and
task threads that hold a place in it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from app.flags.gate import Gate

TIMEOUT_S = 10


class ObservedCondition(threading.Condition):
    """A Condition that counts the threads blocked in wait(): a thread that waits on the gate's
    condition found it may not pass, so a test waits for that instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.num_waiting = 0
        self._changed = threading.Condition()

    def wait(self, timeout: float | None = None) -> bool:
        with self._changed:
            self.num_waiting += 1
            self._changed.notify_all()
        try:
            return super().wait(timeout)
        finally:
            with self._changed:
                self.num_waiting -= 1

    def wait_for_waiters(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.num_waiting >= count, timeout=TIMEOUT_S), f"{count} thread(s) never blocked"


class Holder:
    """A task thread: passes the gate, logs it, and stays inside until :meth:`leave`."""

    def __init__(self, gate: Gate, log: list[str], name: str) -> None:
        self.entered = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(gate, log, name), daemon=True)
        self._thread.start()

    def _run(self, gate: Gate, log: list[str], name: str) -> None:
        with gate.passage():
            log.append(f"{name} in")
            self.entered.set()
            assert self._release.wait(TIMEOUT_S)
            log.append(f"{name} out")

    def wait_entered(self) -> None:
        assert self.entered.wait(TIMEOUT_S), "never passed the gate"

    def leave(self) -> None:
        self._release.set()
        self._thread.join(TIMEOUT_S)
        assert not self._thread.is_alive()


@pytest.fixture
def gate() -> Gate:
    """An open gate without a capacity, its condition observed (``gate._cond.wait_for_waiters(n)``)."""
    gate = Gate()
    gate._cond = ObservedCondition()  # before any thread uses it
    return gate


@pytest.fixture
def task_in_gate(gate) -> Callable[[list[str], str], Holder]:
    """Start a task thread that passes ``gate`` and holds its place: ``task_in_gate(log, name)``."""
    started: list[Holder] = []

    def start(log: list[str], name: str) -> Holder:
        started.append(Holder(gate, log, name))
        return started[-1]

    yield start
    for holder in started:
        holder.leave()
