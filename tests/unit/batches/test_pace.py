"""How many batch lines may be fed: all the idle capacity but a headroom, a trickle while interactive jobs run."""

from __future__ import annotations

from app.batches.pace import Pace


def test_idle_workers_are_filled_but_for_the_headroom():
    assert Pace().room(slots=32, active_jobs=0, batch_jobs=0) == 28  # an eighth left free
    assert Pace(headroom=2).room(slots=32, active_jobs=10, batch_jobs=10) == 20
    assert Pace().room(slots=4, active_jobs=0, batch_jobs=0) == 3  # at least one slot free


def test_interactive_jobs_make_the_batch_yield_to_a_trickle():
    assert Pace().room(slots=32, active_jobs=5, batch_jobs=0) == 1
    assert Pace(yield_inflight=2).room(slots=32, active_jobs=12, batch_jobs=10) == 0  # already over: no new line
    assert Pace(yield_inflight=2).room(slots=32, active_jobs=3, batch_jobs=1) == 1


def test_no_worker_no_line_and_the_cap_holds():
    assert Pace().room(slots=0, active_jobs=0, batch_jobs=0) == 0
    assert Pace(max_inflight=4).room(slots=32, active_jobs=3, batch_jobs=3) == 1
