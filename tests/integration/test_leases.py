"""Leases on running jobs against the tests' real Redis: a lapsed lease requeues its job exactly
once, the new owner claims it, and the old owner learns it lost the job."""

import threading
import time
import uuid

import pytest

from app.jobs.leases import LeaseReaper, Leases
from app.jobs.record import JobStatus
from app.jobs.store import JobStore
from app.jobs.sweeper import Sweeper
from app.jobs.worker_registry import WorkerRegistry
from app.redis_conn import Keys, connect
from tests.helpers.waiting import wait_until

LEASE_S = 0.5


@pytest.fixture
def store(config):
    return JobStore(connect(config.redis), Keys(f"lease-test-{uuid.uuid4().hex[:8]}"), ttl_s=600, lease_ttl_s=LEASE_S)


@pytest.fixture
def leases(store):
    return Leases(store.redis, store.keys, LEASE_S)


def test_a_held_lease_keeps_the_job_with_its_live_worker(store, leases):
    WorkerRegistry(store.redis, store.keys, interval_s=1).beat("worker-a", {"id": "worker-a"})
    job = store.create({"prompt": "x"}, tenant="", model="m")
    assert store.start(job["id"], "worker-a").outcome == "started"
    assert store.start(job["id"], "worker-b").outcome == "running_elsewhere"  # a redelivery while it runs
    assert leases.renew("worker-a", [job["id"]]) == []
    assert leases.reap() == []


def test_a_lapsed_lease_requeues_the_job_exactly_once(store, leases):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    store.start(job["id"], "worker-a")
    wait_until(lambda: store.redis.zrangebyscore(store.keys.leases, "-inf", time.time()), 5, what="the lease to lapse")
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(leases.reap())) for _ in range(8)]  # eight reapers race
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sum(results, [])) == [(job["id"], 5)]
    record = store.get(job["id"])
    assert record["status"] == "queued" and record["queue_position"] == 1
    assert store.start(job["id"], "worker-b").outcome == "started"
    assert store.get(job["id"])["attempts"] == 2
    assert leases.renew("worker-a", [job["id"]]) == [job["id"]]  # the old owner learns it lost it
    assert leases.renew("worker-b", [job["id"]]) == []


def test_a_finished_job_leaves_no_lease(store, leases):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    store.start(job["id"], "worker-a")
    assert store.finish(job["id"], "worker-a", JobStatus.SUCCEEDED, output="ok", finish_reason="stop")
    assert store.redis.zcard(store.keys.leases) == 0


def test_the_reaper_sends_the_task_again(store, leases):
    job = store.create({"prompt": "x", "priority": 2}, tenant="", model="m")
    store.start(job["id"], "worker-a")
    sent: list[tuple[str, int]] = []
    reaper = LeaseReaper(leases, lambda job_id, priority: sent.append((job_id, priority)))
    sweeper = Sweeper([reaper.reap_once], interval_s=0.1).start()  # as every API process runs it
    try:
        wait_until(lambda: sent, 5, what="the reaper to requeue the job")
    finally:
        sweeper.stop()
    assert sent == [(job["id"], 2)] and reaper.num_requeued == 1  # sent again at its own priority
