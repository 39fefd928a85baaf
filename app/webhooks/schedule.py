"""When a failed delivery is tried again: Standard Webhooks' example schedule (the first attempt at once, then
5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each delay spread by ±``JITTER`` so that the retries of many events
that failed together (a receiver's outage) do not all come back in the same second."""

from __future__ import annotations

import random

DEFAULT_RETRY_S = "5,300,1800,7200,18000,36000,36000"
JITTER = 0.1


def parse_schedule(raw: str) -> tuple[float, ...]:
    """``"5,300,1800"`` -> (5.0, 300.0, 1800.0); ValueError for anything but positive numbers."""
    delays = tuple(float(part) for part in raw.split(",") if part.strip())
    if any(delay <= 0 for delay in delays):
        raise ValueError("every delay must be a positive number of seconds")
    return delays


def retry_delay(failed_attempts: int, schedule: tuple[float, ...], rng: random.Random | None = None) -> float | None:
    """Seconds until the next attempt after ``failed_attempts`` failures; None once the schedule is spent."""
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return schedule[failed_attempts - 1] * spread


def horizon_s(schedule: tuple[float, ...]) -> float:
    """The longest an event can stay undelivered: every delay at its longest."""
    return sum(schedule) * (1 + JITTER)
