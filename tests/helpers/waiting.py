"""The one way tests wait: poll a condition until it holds, with a deadline; never sleep and hope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_S = 0.05


def wait_until(
    condition: Callable[[], T], timeout: float, *, what: str | Callable[[], str] = "the condition", interval: float = POLL_S
) -> T:
    """Call ``condition`` until it returns something truthy, and return that; fail the test once
    ``timeout`` seconds pass. ``what`` names the awaited state in the failure (a callable is
    called then, to describe the state reached)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"waited {timeout:g} s for {described}")
        time.sleep(interval)
