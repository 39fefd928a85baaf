"""`llmjobs up`'s supervisor over real tiny processes: restarts with back-off, gives up on a child
that cannot start, stops in reverse order."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from app.cli import supervisor as supervisor_module
from app.cli.supervisor import GaveUp, Supervisor
from tests.helpers.waiting import wait_until


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(supervisor_module, "FIRST_DELAY_S", 0.01)


def python(code: str):
    return lambda: subprocess.Popen([sys.executable, "-c", code])


def test_a_killed_child_is_started_again_and_counted():
    restarted: list[str] = []
    sup = Supervisor(on_restart=restarted.append)
    child = sup.add("worker", python("import time; time.sleep(60)"))
    first = child.proc.pid
    child.proc.send_signal(signal.SIGKILL)
    try:
        wait_until(lambda: sup.check() or child.proc.pid != first, 10, what="a new worker process")
        assert restarted == ["worker"] and child.restarts == 1 and child.proc.poll() is None
    finally:
        sup.stop()


def test_signals_never_make_it_give_up():
    sup = Supervisor()
    child = sup.add("worker", python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    try:
        wait_until(lambda: sup.check() or child.restarts >= 8, 20, what="eight restarts")
    finally:
        sup.stop()


def test_a_child_that_cannot_start_stops_the_stack_after_a_few_tries():
    sup = Supervisor()
    sup.add("api", python("import sys; sys.exit(2)"))
    with pytest.raises(GaveUp, match=r"api exited \(exit code 2\) after 0 s: 5 times in a row right after starting"):
        wait_until(lambda: sup.check(), 20, what="the supervisor to give up")
    sup.stop()


def test_stop_ends_every_child():
    sup = Supervisor()
    children = [sup.add(name, python("import time; time.sleep(60)")) for name in ("redis", "worker", "api")]
    sup.stop(timeout_s=10)
    assert all(child.proc.poll() is not None for child in children)


def test_a_child_that_fails_to_launch_is_retried_then_given_up():
    attempts = []

    def start():
        attempts.append(1)
        if len(attempts) == 1:
            return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(1)"])
        raise OSError("port taken")

    sup = Supervisor()
    sup.add("redis", start)
    with pytest.raises(GaveUp, match="redis did not start .port taken."):
        wait_until(lambda: sup.check(), 20, what="the supervisor to give up")
    assert len(attempts) == 5  # the first exit, then four launches that raised
    sup.stop()
