"""The consume watchdog: a stall is messages waiting while slots are free and nothing starts."""

from workers.consume_watchdog import ConsumeWatchdog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_waiting_messages_with_free_slots_and_no_task_for_the_stall_time_is_stuck():
    clock = Clock()
    dog = ConsumeWatchdog(stall_s=30, clock=clock)
    for clock.now in (1, 15, 30):
        assert not dog.stuck(waiting=3, free_slots=2)
    clock.now = 31.5
    assert dog.stuck(waiting=3, free_slots=2)


def test_a_task_started_resets_the_stall():
    clock = Clock()
    dog = ConsumeWatchdog(stall_s=30, clock=clock)
    clock.now = 20
    assert not dog.stuck(waiting=3, free_slots=2)
    dog.task_started()
    clock.now = 45
    assert not dog.stuck(waiting=3, free_slots=2)  # stalled for 0 s since the task, and for 25 s since the first look


def test_no_stall_while_busy_or_idle():
    clock = Clock()
    dog = ConsumeWatchdog(stall_s=30, clock=clock)
    for clock.now in range(0, 200, 10):
        assert not dog.stuck(waiting=5, free_slots=0)  # every thread busy: messages wait legitimately
        assert not dog.stuck(waiting=0, free_slots=4)  # nothing to take
