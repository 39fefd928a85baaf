"""LLMJOBS_REDIS_WAIT_REPLICAS: a job the replicas did not acknowledge in time is accepted, logged and counted.
(WAIT itself, on a real master and replica, is checked in tests/integration/test_sentinel.py.)"""

from __future__ import annotations

import logging

import pytest

from app.jobs.replica_wait import ReplicaWait


def test_a_shortfall_is_logged_and_counted_never_raised(caplog):
    counted = []
    wait = ReplicaWait(2, 0.25, on_short=lambda: counted.append(1))
    assert wait.timeout_ms == 250
    assert wait.check(2, "job-a") and wait.check(3, "job-b")
    with caplog.at_level(logging.WARNING, logger="app.jobs.replica_wait"):
        assert not wait.check(1, "job-c")
    assert (wait.num_short, len(counted)) == (1, 1)
    assert "job job-c accepted, but 1 of 2 replicas acknowledged it within 250 ms" in caplog.text


def test_no_wait_that_could_block_for_ever():
    with pytest.raises(AssertionError):
        ReplicaWait(1, 0)
