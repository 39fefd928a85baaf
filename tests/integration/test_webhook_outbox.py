"""Every way a job or a batch ends writes its webhook event in the same Lua step (real Redis, no worker), once;
and a delivery signs with the tenant's own secret from the keys file."""

from __future__ import annotations

import time

import pytest

from app.batches.record import BatchStatus
from app.batches.store import BatchStore
from app.cli.embedded_redis import free_port
from app.config import load_config
from app.jobs.deadlines import Deadlines
from app.jobs.record import JobStatus
from app.jobs.store import JobStore
from app.redis_conn import connect
from app.webhooks.delivery import Deliverer
from app.webhooks.outbox import Destination, Outbox
from app.webhooks.sender import Sender
from loadtest.webhook_receiver import Receiver
from tests.helpers.waiting import wait_until

HOOK = Destination("https://hooks.example.com/llmjobs", 3600)
ALICE_SECRET = "whsec_" + "YWxpY2Utc2VjcmV0LWtleS0xMjM0NTY3ODkw"


@pytest.fixture(autouse=True)
def no_deliveries_left(job_store):
    """The events written here go nowhere: none stays due for the webhook tests' worker to try."""
    due = job_store.outbox.due_key
    before = set(job_store.redis.zrange(due, 0, -1))
    yield
    if made := set(job_store.redis.zrange(due, 0, -1)) - before:
        job_store.redis.zrem(due, *made)


def event_of(job_store: JobStore, subject_id: str) -> dict | None:
    return job_store.outbox.get(f"msg_{subject_id}")


def new_job(job_store: JobStore, **request) -> str:
    job = job_store.create({"prompt": "hi", **request}, tenant="t1", model="m", webhook=HOOK)
    return job["id"]


def test_a_finished_job_writes_one_event_of_its_status(job_store):
    for status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        job_id = new_job(job_store)
        assert event_of(job_store, job_id) is None  # nothing until it ends
        assert job_store.start(job_id, "w1").outcome == "started"
        assert job_store.finish(job_id, "w1", status, output="x", error={"message": "boom"} if status == JobStatus.FAILED else None)
        event = event_of(job_store, job_id)
        assert event["type"] == f"job.{status.value}" and event["state"] == "pending" and event["tenant"] == "t1"
        assert event["url"] == HOOK.url and event["at"] == job_store.get(job_id)["finished_at"]
        assert job_store.redis.zscore(job_store.outbox.due_key, f"msg_{job_id}") is not None
        assert not job_store.finish(job_id, "w1", status)  # a late second finish changes nothing
        assert event_of(job_store, job_id)["dispatch"] == 0
        assert job_store.get(job_id)["webhook"]["status"] == "pending"


def test_cancelled_expired_and_cached_jobs_write_theirs(job_store, keys):
    queued = new_job(job_store)
    assert job_store.cancel(queued) == "dequeued"
    assert event_of(job_store, queued)["type"] == "job.cancelled"
    late = new_job(job_store, deadline_s=0.01)
    deadlines = Deadlines(job_store.redis, keys, job_store.ttl_s)
    # A worker of the session's stack may sweep the deadline first: either way the job ends expired.
    wait_until(lambda: late in deadlines.expire_due() or job_store.get(late)["status"] == "expired", 10, what="the deadline to pass")
    assert event_of(job_store, late)["type"] == "job.expired"
    cached = job_store.create_cached(
        {"prompt": "hi"}, tenant="t1", model="m", output="hello", finish_reason="stop", usage={"prompt_tokens": 1},
        token_ids=[1], cache={"tier": "exact"}, webhook=HOOK,
    )  # fmt: skip
    assert event_of(job_store, cached["id"])["type"] == "job.succeeded" and cached["webhook"]["status"] == "pending"
    plain = job_store.create({"prompt": "hi"}, tenant="t1", model="m")["id"]
    job_store.cancel(plain)
    assert event_of(job_store, plain) is None and "webhook" not in job_store.get(plain)


def test_a_batch_that_ends_writes_its_event(job_store, config):
    batches = BatchStore(job_store.redis, config.redis.key_prefix, 3600)
    fields = {"id": f"batch_t{time.time_ns()}", "tenant": "t1", "status": "validating", "endpoint": "/v1/completions",
              "input_file_id": "file-1", "completion_window": "24h", "created_at": repr(time.time()), "webhook": HOOK.url,
              "webhook_ttl": HOOK.ttl_s}  # fmt: skip
    batch = batches.create(fields, file_users_key=f"{config.redis.key_prefix}:file:file-1:batches", max_active=0)
    assert batch["webhook"] == {"url": HOOK.url, "status": "waiting", "attempts": []}
    assert batches.move(batch["id"], None, (BatchStatus.VALIDATING,), BatchStatus.IN_PROGRESS)
    assert event_of(job_store, batch["id"]) is None  # not an end
    assert batches.move(batch["id"], None, (BatchStatus.IN_PROGRESS,), BatchStatus.CANCELLING)
    assert batches.move(batch["id"], None, (BatchStatus.CANCELLING,), BatchStatus.CANCELLED)
    assert event_of(job_store, batch["id"])["type"] == "batch.cancelled"
    assert batches.get(batch["id"])["webhook"]["status"] == "pending"


def test_a_tenant_with_its_own_secret_gets_its_webhooks_signed_with_it(stack_env, job_store, keys):
    receiver = Receiver(free_port(), ALICE_SECRET).start()
    try:
        keys_line = f"k1:alice webhook_secret={ALICE_SECRET}"
        config = load_config({**stack_env, "LLMJOBS_API_KEYS": keys_line, "LLMJOBS_WEBHOOK_ALLOW": f"127.0.0.1:{receiver.port}"})
        assert config.webhooks.secret_for("alice") == ALICE_SECRET
        assert config.webhooks.secret_for("bob") == stack_env["LLMJOBS_WEBHOOK_SECRET"]
        client = connect(config.redis)
        outbox = Outbox(client, keys.prefix)
        store = JobStore(client, keys, 3600)
        job_id = store.create({"prompt": "hi"}, tenant="alice", model="m", webhook=Destination(receiver.url("alice"), 3600))["id"]
        store.cancel(job_id)
        with Sender(config.webhooks.allow, 5) as sender:
            deliverer = Deliverer(outbox, config.webhooks, read_job=store.get, read_batch=lambda _: None, sender=sender)
            claimed = dict(outbox.claim_due(time.time() + 1, 30, limit=10_000))
            assert deliverer.deliver(f"msg_{job_id}", claimed[f"msg_{job_id}"]) == "delivered"
        (delivery,) = receiver.accepted("alice")
        assert delivery.payload["data"]["id"] == job_id and delivery.payload["type"] == "job.cancelled"
    finally:
        receiver.stop()
