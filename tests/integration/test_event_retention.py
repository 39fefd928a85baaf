"""What Redis keeps of an ended job: a compact record for LLMJOBS_JOB_TTL, its event stream only for
LLMJOBS_EVENTS_TTL; a stream read after that still ends with the final result, from the record."""

import json
import uuid

import pytest

from app.jobs.events import EventLog, token_event
from app.jobs.record import JobStatus
from app.jobs.store import JobStore
from app.redis_conn import Keys, connect
from tests.helpers.waiting import wait_until
from tests.integration.streams import check_complete, sse_events

# ~128 tokens of SmolLM2's English (4.6 characters a token) and a chat request like the soak's
OUTPUT = ("The river ran fast and cold beneath the old bridge, and the town slept on. " * 8)[:590]
REQUEST = {
    "messages": [{"role": "user", "content": "Beneath the old bridge the river ran fast and cold. What is a good name for a goldfish?"}],
    "max_tokens": 128,
    "temperature": 1.0,
    "top_p": 1.0,
    "top_k": 0,
    "stop": [],
    "ignore_eos": False,
    "priority": 5,
}
USAGE = {"prompt_tokens": 48, "completion_tokens": 128, "total_tokens": 176}
TIMINGS = {"queue_wait_s": 0.0123, "ttft_s": 0.2345, "generation_s": 5.4321, "total_s": 5.4444}


@pytest.fixture
def store(config):
    # Its own key prefix: these jobs are never enqueued. Streams kept 1 s after the final event.
    return JobStore(connect(config.redis), Keys(f"retention-test-{uuid.uuid4().hex[:8]}"), ttl_s=600, events_ttl_s=1)


def run_job(store: JobStore, events: EventLog, tokens: int = 128) -> str:
    job_id = store.create(REQUEST, tenant="alice", model="smollm2-135m-instruct")["id"]
    assert store.start(job_id, "w1").outcome == "started"
    events.publish_many([(job_id, i, token_event(OUTPUT[i * 4 : i * 4 + 4], [1000 + i])) for i in range(tokens)])
    assert store.finish(job_id, "w1", JobStatus.SUCCEEDED, output=OUTPUT, finish_reason="length", usage=USAGE, timings=TIMINGS)
    return job_id


def test_an_ended_job_keeps_its_record_for_the_job_ttl_and_its_stream_for_the_events_ttl(store):
    events = EventLog(store.redis, store.keys, ttl_s=600)
    job_id = run_job(store, events)
    assert 590 < store.redis.ttl(store.keys.job(job_id)) <= 600
    assert 0 < store.redis.pttl(store.keys.events(job_id)) <= 1000
    job = store.get(job_id, tenant="alice")
    assert (job["id"], job["status"], job["output"], job["usage"], job["timings"]) == (job_id, "succeeded", OUTPUT, USAGE, TIMINGS)
    assert (job["request"], job["finish_reason"], job["attempts"], job["model"]) == (REQUEST, "length", 1, "smollm2-135m-instruct")
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    # what only a live job needs is gone: the rest is status, tenant and one JSON field
    assert set(store.redis.hkeys(store.keys.job(job_id))) == {"status", "tenant", "record"}


def test_a_128_token_answer_keeps_at_most_2_kib_in_redis(store):
    events = EventLog(store.redis, store.keys, ttl_s=600)
    job_id = run_job(store, events)
    wait_until(lambda: not store.redis.exists(store.keys.events(job_id)), 10, what="the event stream to expire")
    assert store.redis.memory_usage(store.keys.job(job_id), samples=0) <= 2048


def test_a_reader_after_the_stream_expired_gets_the_final_event_from_the_record(store):
    events = EventLog(store.redis, store.keys, ttl_s=600)
    job_id = run_job(store, events, tokens=5)
    assert [e["index"] for e in events.read(job_id, after=2)] == [3, 4, 5]  # resume while the stream exists
    wait_until(lambda: not store.redis.exists(store.keys.events(job_id)), 10, what="the event stream to expire")
    (final,) = events.read(job_id)
    assert (final["index"], final["type"], final["status"], final["output"], final["usage"]) == (0, "final", "succeeded", OUTPUT, USAGE)
    (resumed,) = events.read(job_id, after=3)
    assert resumed["index"] == 4 and resumed["output"] == OUTPUT
    queued = store.create(REQUEST, tenant="alice", model="m")["id"]
    assert events.read(queued) == []  # no stream yet and not ended: nothing to tell


@pytest.mark.usefixtures("worker")
def test_a_stream_opened_after_its_log_expired_ends_with_the_job_result(http, france, config, wait_for_job):
    """Through the API and a real worker: the stream expires soon after the final event, the record stays."""
    job_id = http.post("/v1/jobs", json={"prompt": france, "temperature": 0, "max_tokens": 12}).json()["id"]
    job = wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id)
    client, keys = connect(config.redis), Keys(config.redis.key_prefix)
    assert 0 < client.ttl(keys.events(job_id)) <= config.events_ttl_s < client.ttl(keys.job(job_id))
    full = sse_events(http, job_id)
    assert check_complete(full)["output"] == job["output"]
    client.delete(keys.events(job_id))  # as its expiry would
    (final,) = sse_events(http, job_id)
    assert (final["type"], final["output"], final["usage"]) == ("final", job["output"], job["usage"])
    (resumed,) = sse_events(http, job_id, last_event_id=3)
    assert resumed["index"] == 4 and resumed["output"] == job["output"]


def test_the_worker_takes_the_cache_ticket_and_only_its_exact_key_stays(store):
    ticket = json.dumps({"exact": "ab" * 32, "namespace": "cd" * 32, "text": "What is a good name for a goldfish?", "vector": "A" * 2048})
    job_id = store.create(REQUEST, tenant="alice", model="m", cache_ticket=ticket)["id"]
    assert store.start(job_id, "w1").outcome == "started"
    assert store.finish(job_id, "w1", JobStatus.SUCCEEDED, output=OUTPUT, finish_reason="length", usage=USAGE, timings=TIMINGS)
    assert store.take_cache_ticket(job_id) == ticket  # the whole ticket, once, to record the answer
    assert json.loads(store.redis.hget(store.keys.job(job_id), "cache_ticket")) == {"exact": "ab" * 32}
    assert store.redis.memory_usage(store.keys.job(job_id), samples=0) <= 2048
    assert store.take_cache_ticket(str(uuid.uuid4())) is None
