"""Keeps the processes of ``llmjobs up`` running: a child that exits unexpectedly is started again.

Written here rather than taken from supervisord or honcho: those run as their own daemon with
their own configuration file, while ``llmjobs up`` must stay one foreground command that starts
an embedded Redis when none answers, waits for readiness, and stops everything in order on
Ctrl-C. Restarts back off (0.5 s, 1 s, 2 s, ... up to 30 s); a child that keeps dying within
seconds of its start (a bad setting, a port taken) gives up after ``MAX_QUICK_FAILURES`` tries,
and the stack stops with its error instead of looping.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0
STABLE_AFTER_S = 10.0  # a child that ran this long before dying starts its back-off afresh (a worker loads in less)
MAX_QUICK_FAILURES = 5


class GaveUp(Exception):
    """A child kept exiting right after its start."""


@dataclass
class Child:
    name: str
    start: Callable[[], subprocess.Popen]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    streak: int = 0  # exits within STABLE_AFTER_S of a start, in a row: the back-off grows with it
    quick_failures: int = 0  # of which error exits (not signals), in a row
    due: float | None = None  # when a restart is due (None: running)

    def launch(self) -> None:
        self.proc = self.start()
        self.started_at = time.monotonic()
        self.due = None


class Supervisor:
    def __init__(self, on_restart: Callable[[str], None] | None = None) -> None:
        self.children: list[Child] = []
        self.on_restart = on_restart  # told the name of each child restarted (the stack counts it in Redis)

    def add(self, name: str, start: Callable[[], subprocess.Popen]) -> Child:
        child = Child(name, start)
        child.launch()
        self.children.append(child)
        return child

    def check(self) -> None:
        """Notice children that exited and restart those whose back-off is over; raise GaveUp."""
        now = time.monotonic()
        for child in self.children:
            if child.due is None and child.proc is not None and (code := child.proc.poll()) is not None:
                ran_s = now - child.started_at
                # Only a child that ends by itself (an error exit) can be a setup problem; one killed
                # by a signal (an OOM kill, an operator's kill -9) is always started again.
                self._failed(child, f"exited ({_how(code)}) after {ran_s:.0f} s", quick=ran_s < STABLE_AFTER_S, setup=code > 0)
            if child.due is not None and now >= child.due:
                try:
                    child.launch()
                except (OSError, RuntimeError, TimeoutError) as exc:  # e.g. Redis' port taken meanwhile
                    self._failed(child, f"did not start ({exc})", quick=True, setup=True)
                    continue
                child.restarts += 1
                if self.on_restart is not None:
                    self.on_restart(child.name)

    def _failed(self, child: Child, what: str, *, quick: bool, setup: bool) -> None:
        child.streak = child.streak + 1 if quick else 1
        child.quick_failures = child.quick_failures + 1 if quick and setup else 0
        if child.quick_failures >= MAX_QUICK_FAILURES:
            raise GaveUp(f"{child.name} {what}: {child.quick_failures} times in a row right after starting")
        delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (child.streak - 1))
        child.due = time.monotonic() + delay
        print(f"llmjobs: {child.name} {what}; restarting it in {delay:g} s", file=sys.stderr)

    def exited(self) -> str | None:
        """A child that is not running now (before readiness nothing is restarted)."""
        return next((c.name for c in self.children if c.proc is None or c.proc.poll() is not None), None)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM in reverse order of start, then wait; kill what does not stop in time."""
        running = [c for c in reversed(self.children) if c.proc is not None and c.proc.poll() is None]
        for child in running:
            child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in running:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"llmjobs: {child.name} did not stop in time; killing it", file=sys.stderr)
                child.proc.kill()
                child.proc.wait()


def _how(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit code {code}"
