"""Admission control against the tests' real Redis: a bounded queue (429 + Retry-After, never
overshot by concurrent submits), priorities, deadlines (queued and running), per-tenant rates.

The bound, priority and rate tests use an API in-process on a queue no worker consumes, so what
they submit stays queued; the running-deadline test uses the session's worker."""

from __future__ import annotations

import threading
import uuid

import pytest

from app.config import load_config
from tests.helpers.waiting import wait_until


@pytest.fixture
def idle_api(stack_env, make_app):
    """An API whose queue nobody consumes, with a small bound, a rate limit and two tenants."""

    def make(**env):
        prefix = f"admission-{uuid.uuid4().hex[:8]}"
        config = load_config({**stack_env, "LLMJOBS_KEY_PREFIX": prefix, "LLMJOBS_QUEUE": f"{prefix}.generate", **env})
        return make_app(config)

    return make


def submit(client, headers=None, **body):
    return client.post("/v1/jobs", json={"prompt": "Say hi.", "max_tokens": 4, "cache": False, **body}, headers=headers or {})


def test_concurrent_submits_never_overshoot_the_bound(idle_api):
    app = idle_api(LLMJOBS_MAX_QUEUED="5")
    codes: list[int] = []
    lock = threading.Lock()

    def client_thread():
        client = app.test_client()
        for _ in range(4):
            response = submit(client)
            if response.status_code == 429:
                body = response.get_json()["error"]
                assert body["type"] == "rate_limit_error" and body["code"] == "queue_full" and "queue is full" in body["message"]
                assert 1 <= int(response.headers["Retry-After"]) <= 60
            with lock:
                codes.append(response.status_code)

    threads = [threading.Thread(target=client_thread) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(codes)) == [202, 429] and codes.count(202) == 5, codes
    svc = app.extensions["llmjobs"]
    assert svc.jobs.redis.zcard(svc.jobs.keys.queued) == 5
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'llmjobs_jobs_rejected_total{reason="queue_full"} 59.0' in metrics


def test_an_urgent_job_goes_to_the_front_of_the_queue(idle_api):
    client = idle_api().test_client()
    for _ in range(3):
        assert submit(client, priority=9).status_code == 202
    urgent = submit(client, priority=0).get_json()["id"]
    normal = submit(client).get_json()["id"]
    assert client.get(f"/v1/jobs/{urgent}").get_json()["queue_position"] == 1
    assert client.get(f"/v1/jobs/{normal}").get_json()["queue_position"] == 2
    assert submit(client, priority=10).status_code == 400


def test_a_queued_job_expires_at_its_deadline(idle_api):
    client = idle_api().test_client()
    job_id = submit(client, deadline_s=1).get_json()["id"]
    expired = wait_until(lambda: client.get(f"/v1/jobs/{job_id}").get_json()["status"] == "expired", 5, what="the job to expire")
    assert expired
    record = client.get(f"/v1/jobs/{job_id}").get_json()
    assert record["finish_reason"] == "expired" and record["finished_at"] - record["created_at"] < 3.0
    final = [line for line in client.get(f"/v1/jobs/{job_id}/events").get_data(as_text=True).splitlines() if line.startswith("data: ")]
    assert '"status":"expired"' in final[-1]
    svc = client.application.extensions["llmjobs"]
    assert svc.jobs.redis.zcard(svc.jobs.keys.queued) == 0


def test_a_running_job_stops_at_its_deadline_and_keeps_its_output(http, wait_for_job, worker):
    warm = http.post("/v1/jobs", json={"prompt": "Hi", "max_tokens": 2, "cache": False}).json()["id"]
    wait_for_job(lambda i: http.get(f"/v1/jobs/{i}").json(), warm)  # the worker has its model: the next job starts at once
    body = {"prompt": "Count from 1 to 1000.", "max_tokens": 500, "ignore_eos": True, "temperature": 0, "cache": False, "deadline_s": 3}
    job_id = http.post("/v1/jobs", json=body).json()["id"]
    record = wait_for_job(lambda i: http.get(f"/v1/jobs/{i}").json(), job_id, timeout=60)
    assert record["status"] == "expired" and record["finish_reason"] == "expired", record
    assert record["output"] and record["usage"]["completion_tokens"] < 500
    assert record["finished_at"] - record["created_at"] < 3 + 2.0


def test_rate_limit_per_tenant(idle_api):
    app = idle_api(LLMJOBS_API_KEYS="ka:alice,kb:bob,kv:vip:0", LLMJOBS_RATE_LIMIT="5")
    client = app.test_client()
    alice = {"Authorization": "Bearer ka"}
    codes = [submit(client, headers=alice).status_code for _ in range(7)]
    assert codes == [202] * 5 + [429] * 2
    refused = submit(client, headers=alice)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert refused.headers["X-RateLimit-Limit"] == "5" and refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) >= 1 and int(refused.headers["X-RateLimit-Reset"]) > 0
    bob = submit(client, headers={"Authorization": "Bearer kb"})
    assert bob.status_code == 202 and bob.headers["X-RateLimit-Remaining"] == "4"  # other tenants are unaffected
    assert all(submit(client, headers={"Authorization": "Bearer kv"}).status_code == 202 for _ in range(8))  # its own limit: none


def test_a_tenant_has_at_most_its_cap_of_active_jobs(idle_api):
    client = idle_api(LLMJOBS_API_KEYS="ka:alice:0:2,kb:bob", LLMJOBS_TENANT_MAX_ACTIVE="10").test_client()
    alice = {"Authorization": "Bearer ka"}
    first, second = (submit(client, headers=alice).get_json()["id"] for _ in range(2))
    refused = submit(client, headers=alice)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "tenant_active" and refused.headers["Retry-After"]
    assert submit(client, headers={"Authorization": "Bearer kb"}).status_code == 202  # bob has the default cap of 10
    assert client.delete(f"/v1/jobs/{first}", headers=alice).get_json()["status"] == "cancelled"  # an ended job frees its place
    assert submit(client, headers=alice).status_code == 202
    assert second
