"""JobStore and WorkerRegistry against the tests' real Redis (no worker involved)."""

import uuid

import pytest

from app.engine import Completion, Engine
from app.jobs.cancel_watcher import CancelWatcher
from app.jobs.event_publisher import EventPublisher
from app.jobs.events import EventLog
from app.jobs.prompts import PromptBuilder
from app.jobs.record import JobStatus
from app.jobs.runner import JobRunner
from app.jobs.store import JobStore
from app.jobs.worker_registry import WorkerRegistry
from app.redis_conn import Keys, connect


@pytest.fixture
def store(config):
    # A key prefix of its own: these jobs are never enqueued and must not shift real queue positions.
    return JobStore(connect(config.redis), Keys(f"store-test-{uuid.uuid4().hex[:8]}"), ttl_s=600)


@pytest.fixture
def registry(store):
    return WorkerRegistry(store.redis, store.keys, interval_s=0.5)


def test_queue_positions_follow_submit_order(store):
    jobs = [store.create({"prompt": str(i)}, tenant="", model="m") for i in range(3)]
    assert [store.get(j["id"])["queue_position"] for j in jobs] == [1, 2, 3]
    store.start(jobs[0]["id"], "w1")
    assert store.get(jobs[0]["id"])["status"] == "running"
    assert "queue_position" not in store.get(jobs[0]["id"])
    assert [store.get(j["id"])["queue_position"] for j in jobs[1:]] == [1, 2]


def test_records_expire(store):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    assert 0 < store.redis.ttl(store.keys.job(job["id"])) <= 600


def test_tenant_filter(store):
    job = store.create({"prompt": "x"}, tenant="alice", model="m")
    assert store.get(job["id"], tenant="alice")["id"] == job["id"]
    assert store.get(job["id"], tenant="bob") is None
    assert store.get(job["id"], tenant="") is None


def test_discard_removes_record_and_queue_entry(store):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    store.discard(job["id"])
    assert store.get(job["id"]) is None
    assert store.redis.zcard(store.keys.queued) == 0


def test_finished_job_is_never_started_again(store):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    assert store.start(job["id"], "w1").outcome == "started"
    assert store.finish(job["id"], "w1", JobStatus.SUCCEEDED, output="hi", finish_reason="stop")
    assert store.start(job["id"], "w2").outcome == "succeeded"
    assert store.get(job["id"])["output"] == "hi"


def test_redelivered_job_restarts_when_its_worker_is_dead(store):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    store.start(job["id"], "dead-worker")
    claim = store.start(job["id"], "w2")
    assert claim.outcome == "started" and claim.request == {"prompt": "x"}
    assert store.get(job["id"])["attempts"] == 2
    # The dead worker's late finish must not overwrite the new attempt.
    assert not store.finish(job["id"], "dead-worker", JobStatus.SUCCEEDED, output="stale", finish_reason="stop")


def test_duplicate_delivery_while_owner_lives_is_skipped(store, registry):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    registry.beat("w1", {"queues": ["q"]})
    store.start(job["id"], "w1")
    assert store.start(job["id"], "w2").outcome == "running_elsewhere"
    assert store.get(job["id"])["attempts"] == 1


def test_missing_job_is_not_started(store):
    assert store.start(str(uuid.uuid4()), "w1").outcome == "missing"


def test_registry_live_and_remove(registry):
    registry.beat("w1", {"id": "w1", "queues": ["a"]})
    registry.beat("w2", {"id": "w2", "queues": ["b"]})
    assert [w["id"] for w in registry.live("a")] == ["w1"]
    assert {w["id"] for w in registry.live()} == {"w1", "w2"}
    registry.remove("w1")
    assert registry.live("a") == []


class ExplodingEngine(Engine):
    def __init__(self):
        super().__init__(None, None, device="cpu", model_name="fake", context_length=1000, time_limit_s=60)

    def generate(self, request, on_delta=None, should_stop=None):
        raise RuntimeError("CUDA error: device-side assert triggered")


class EchoEngine(ExplodingEngine):
    def generate(self, request, on_delta=None, should_stop=None):
        return Completion(text="ok", finish_reason="stop", prompt_tokens=len(request.prompt_token_ids), completion_tokens=1)


class FakePrompts(PromptBuilder):
    def __init__(self):
        super().__init__(tokenizer=None, context_length=1000)

    def token_ids(self, request):
        return [1, 2, 3]


def runner(store, engine):
    events = EventLog(store.redis, store.keys, ttl_s=600)
    return JobRunner(
        store, events, EventPublisher(events), engine, FakePrompts(), CancelWatcher(store), worker_id="w1", default_max_tokens=8
    )


def test_runner_records_an_engine_crash_as_failed(store):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    with pytest.raises(RuntimeError):
        runner(store, ExplodingEngine()).run(job["id"])
    record = store.get(job["id"])
    assert record["status"] == "failed"
    assert record["error"] == {"type": "RuntimeError", "message": "CUDA error: device-side assert triggered"}
    assert record["timings"]["total_s"] >= 0


def test_runner_records_success(store):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    assert runner(store, EchoEngine()).run(job["id"]) == "succeeded"
    record = store.get(job["id"])
    assert record["output"] == "ok" and record["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}


def test_cancel_transitions(store):
    events = EventLog(store.redis, store.keys, ttl_s=600)
    queued = store.create({"prompt": "x"}, tenant="", model="m")
    assert store.cancel(queued["id"]) == "dequeued"
    assert store.get(queued["id"])["status"] == "cancelled"
    assert [e["type"] for e in events.read(queued["id"])] == ["final"]
    assert store.start(queued["id"], "w1").outcome == "cancelled"

    running = store.create({"prompt": "x"}, tenant="", model="m")
    store.start(running["id"], "w1")
    assert store.cancel(running["id"]) == "cancelling"
    assert store.is_cancel_requested(running["id"])
    assert store.finish(running["id"], "w1", JobStatus.CANCELLED, output="", finish_reason="cancelled")
    assert store.cancel(running["id"]) == "cancelled"
    assert store.cancel(str(uuid.uuid4())) == "missing"


def test_cancel_of_a_job_whose_worker_died_ends_it_on_redelivery(store):
    job = store.create({"prompt": "x"}, tenant="", model="m")
    store.start(job["id"], "dead-worker")
    assert store.cancel(job["id"]) == "cancelling"
    assert store.start(job["id"], "w2").outcome == "cancelled"
    assert store.get(job["id"])["status"] == "cancelled"


def test_finish_writes_last_token_and_final_event_together(store):
    events = EventLog(store.redis, store.keys, ttl_s=600)
    job = store.create({"prompt": "x"}, tenant="", model="m")
    store.start(job["id"], "w1")
    events.publish(job["id"], 0, {"type": "token", "text": "a", "token_ids": [1]})
    store.finish(
        job["id"], "w1", JobStatus.SUCCEEDED, output="ab", finish_reason="stop", last_event={"type": "token", "text": "b", "token_ids": []}
    )
    logged = events.read(job["id"])
    assert [(e["index"], e["type"]) for e in logged] == [(0, "token"), (1, "token"), (2, "final")]
    assert logged[-1]["output"] == "ab"
    assert events.read(job["id"], after=1) == logged[2:]
    assert 0 < store.redis.ttl(store.keys.events(job["id"])) <= 600


def test_publisher_batches_events_and_flush_waits_for_them(store):
    events = EventLog(store.redis, store.keys, ttl_s=600)
    round_trips = []
    publish_many = events.publish_many

    def counted(batch):
        round_trips.append(len(batch))
        publish_many(batch)

    events.publish_many = counted  # the publisher's one way to Redis
    publisher = EventPublisher(events)
    jobs = [store.create({"prompt": "x"}, tenant="", model="m")["id"] for _ in range(3)]
    tickets = [publisher.publish(job, i, {"type": "token", "text": str(i), "token_ids": [i]}) for i in range(5) for job in jobs]
    assert publisher.flush(tickets[-1], timeout=10)
    for job in jobs:
        assert [e["text"] for e in events.read(job)] == ["0", "1", "2", "3", "4"]
    assert sum(round_trips) == len(tickets) and len(round_trips) < len(tickets)  # grouped, not one round trip each
    events.publish_many([(jobs[0], 4, {"type": "token", "text": "again", "token_ids": [4]})])  # a retried index is skipped
    assert [e["text"] for e in events.read(jobs[0])][-1] == "4"
