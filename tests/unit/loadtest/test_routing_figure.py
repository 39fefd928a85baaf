"""The routing figure's arithmetic (loadtest/routing.py): the share of jobs run by a worker of their model."""

from loadtest.routing import summarize


def test_the_share_counts_jobs_that_ran_on_a_worker_of_their_own_model():
    models_of = {"w1": "a", "w2": "b"}
    jobs = [
        {"model": "a", "status": "succeeded", "worker": "w1"},
        {"model": "b", "status": "succeeded", "worker": "w2"},
        {"model": "b", "status": "succeeded", "worker": "w1"},  # misrouted
        {"model": "a", "status": "expired", "worker": None},  # never ran: not in the share
    ]
    figure = summarize(jobs, models_of)
    assert (figure["jobs"], figure["ran_on_a_worker"], figure["on_own_model"], figure["succeeded"]) == (4, 3, 2, 3)
    assert figure["share_on_own_model"] == 2 / 3
    assert figure["per_model"]["b"] == {"jobs": 2, "succeeded": 2, "on_own_model": 1, "workers": 2}
    assert figure["per_model"]["a"]["workers"] == 1
