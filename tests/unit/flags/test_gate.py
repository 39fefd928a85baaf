"""The worker gate: capacity, passage blocked while closed, and drained() waiting for those inside.

Threads only, no Redis: every "it is blocked" is observed through the gate's condition (a thread
that calls ``wait()`` on it found it may not pass), never by sleeping and hoping.
"""

from __future__ import annotations

import threading

import pytest

TIMEOUT_S = 10


def test_capacity_lets_that_many_through_and_the_next_waits(gate, task_in_gate):
    gate.set_capacity(2)
    log: list[str] = []
    first, second = task_in_gate(log, "a"), task_in_gate(log, "b")
    first.wait_entered()
    second.wait_entered()
    third = task_in_gate(log, "c")
    gate._cond.wait_for_waiters(1)
    assert not third.entered.is_set()
    first.leave()
    third.wait_entered()
    assert log.index("a out") < log.index("c in")
    second.leave()
    third.leave()
    assert gate._inside == 0


def test_no_capacity_means_no_limit(gate):
    everyone_inside = threading.Barrier(9, timeout=TIMEOUT_S)  # 8 threads inside at once, and this one

    def task() -> None:
        with gate.passage():
            everyone_inside.wait()

    threads = [threading.Thread(target=task, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    everyone_inside.wait()  # raises BrokenBarrierError if the gate held any of them back
    for thread in threads:
        thread.join(TIMEOUT_S)


def test_raising_the_capacity_wakes_those_waiting(gate, task_in_gate):
    gate.set_capacity(1)  # the naive engine's
    log: list[str] = []
    first = task_in_gate(log, "a")
    first.wait_entered()
    second = task_in_gate(log, "b")
    gate._cond.wait_for_waiters(1)
    gate.set_capacity(None)  # a rebuild back to batching
    second.wait_entered()
    assert "a out" not in log  # it passed while the first was still inside


def test_a_failing_task_gives_its_place_back(gate, task_in_gate):
    gate.set_capacity(1)
    with pytest.raises(RuntimeError), gate.passage():
        raise RuntimeError("the job failed")
    assert gate._inside == 0
    task_in_gate([], "a").wait_entered()


def test_drained_waits_for_those_inside(gate, task_in_gate):
    log: list[str] = []
    inside = task_in_gate(log, "a")
    inside.wait_entered()
    drained = threading.Event()

    def rebuild() -> None:
        with gate.drained():
            log.append("rebuild")
            drained.set()

    rebuilder = threading.Thread(target=rebuild, daemon=True)
    rebuilder.start()
    gate._cond.wait_for_waiters(1)  # the rebuild waits for the task inside
    assert not drained.is_set()
    inside.leave()
    assert drained.wait(TIMEOUT_S)
    rebuilder.join(TIMEOUT_S)
    assert log == ["a in", "a out", "rebuild"]


def test_drained_with_nobody_inside_does_not_wait(gate):
    with gate.drained():
        assert gate._closed
    assert not gate._closed


def test_passage_blocks_while_closed_and_resumes_after(gate, task_in_gate):
    log: list[str] = []
    with gate.drained():
        log.append("rebuild starts")
        arriving = task_in_gate(log, "a")  # a task thread arrives mid-rebuild
        gate._cond.wait_for_waiters(1)
        assert not arriving.entered.is_set()
        log.append("rebuild ends")
    arriving.wait_entered()
    arriving.leave()
    assert log == ["rebuild starts", "rebuild ends", "a in", "a out"]


def test_a_failed_rebuild_reopens_the_gate(gate, task_in_gate):
    with pytest.raises(RuntimeError), gate.drained():
        raise RuntimeError("the new engine did not load")
    assert not gate._closed
    task_in_gate([], "a").wait_entered()


@pytest.mark.parametrize("capacity", [None, 1])
def test_tasks_before_during_and_after_a_drain_all_pass_once(gate, capacity):
    """Never more than ``capacity`` inside at once, and nobody inside while drained."""
    gate.set_capacity(capacity)
    lock = threading.Lock()
    inside, most, done = [0], [0], []

    def task(i: int) -> None:
        with gate.passage():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            with lock:
                inside[0] -= 1
                done.append(i)

    threads = [threading.Thread(target=task, args=(i,), daemon=True) for i in range(20)]
    for thread in threads[:10]:
        thread.start()
    with gate.drained():
        assert gate._inside == 0 and inside[0] == 0
        for thread in threads[10:]:
            thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S)
    assert sorted(done) == list(range(20))
    if capacity is not None:
        assert most[0] <= capacity
