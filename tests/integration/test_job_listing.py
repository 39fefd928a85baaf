"""GET /v1/jobs on real Redis: newest first, paged with no gap or repeat while jobs keep arriving, filtered, one
tenant's jobs only; and the live figures' buckets."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from app.jobs.listing import JobFilter, JobListing
from app.obs.live_stats import LiveStats
from app.obs.stats import JobOutcome

MODEL = "listing-model"  # no worker serves it: these jobs stay as the test leaves them


@pytest.fixture
def tenant_jobs(job_store):
    made: list[str] = []

    def create(tenant: str, **fields) -> str:
        job = job_store.create({"prompt": "hi"}, tenant=tenant, model=fields.pop("model", MODEL), **fields)
        made.append(job["id"])
        return job["id"]

    yield create
    for job_id in made:
        job_store.discard(job_id)


def test_pages_follow_each_other_without_gap_or_repeat_while_jobs_arrive(job_store, keys, tenant_jobs):
    tenant = f"t-list-{time.time_ns()}"
    first = [tenant_jobs(tenant) for _ in range(7)]
    listing = JobListing(job_store.redis, keys)
    page, more = listing.page(tenant, limit=3)
    assert [j["id"] for j in page] == first[::-1][:3] and more
    seen = [j["id"] for j in page]
    newer = [tenant_jobs(tenant) for _ in range(4)]  # arrive between two pages: they go in front
    while more:
        page, more = listing.page(tenant, limit=3, after=seen[-1])
        seen += [j["id"] for j in page]
    assert seen == first[::-1]
    assert [j["id"] for j in listing.page(tenant, limit=20)[0]] == [*newer[::-1], *first[::-1]]
    assert listing.page(tenant, limit=5, after="no-such-job") == ([], False)


def test_filters_and_tenants(job_store, keys, tenant_jobs, config):
    tenant, other = f"t-a-{time.time_ns()}", f"t-b-{time.time_ns()}"
    queued = tenant_jobs(tenant)
    cancelled = tenant_jobs(tenant)
    job_store.cancel(cancelled)
    line = tenant_jobs(tenant, batch_id="batch_x")
    elsewhere = tenant_jobs(tenant, model="another-model")
    theirs = tenant_jobs(other)
    listing = JobListing(job_store.redis, keys)

    def ids(**where) -> list[str]:
        return [j["id"] for j in listing.page(tenant, limit=50, where=JobFilter(**where))[0]]

    assert ids() == [elsewhere, line, cancelled, queued] and theirs not in ids()
    assert ids(status="cancelled") == [cancelled]
    assert ids(batch_id="batch_x") == [line] and listing.page(tenant, limit=5)[0][1]["batch_id"] == "batch_x"
    assert ids(model="another-model") == [elsewhere]
    created = job_store.get(cancelled)["created_at"]
    assert ids(created_after=created) == [elsewhere, line]
    job_store.discard(queued)  # a record gone (expired) leaves the listing when met
    assert queued not in ids() and job_store.redis.zscore(keys.tenant_jobs(tenant), queued) is None


def test_the_listing_route_is_an_openai_list_of_the_callers_jobs_only(stack_env, make_app, job_store, keys, tenant_jobs):
    from app.config import load_config

    app = make_app(load_config({**stack_env, "LLMJOBS_API_KEYS": "key-a:alice-list,key-b:bob-list"}))
    client = app.test_client()
    mine = [tenant_jobs("alice-list") for _ in range(3)]
    tenant_jobs("bob-list")
    reply = client.get("/v1/jobs?limit=2", headers={"Authorization": "Bearer key-a"}).get_json()
    assert reply["object"] == "list" and [j["id"] for j in reply["data"]] == mine[::-1][:2] and reply["has_more"] is True
    assert reply["first_id"] == mine[2] and reply["last_id"] == mine[1]
    rest = client.get(f"/v1/jobs?after={reply['last_id']}", headers={"Authorization": "Bearer key-a"}).get_json()
    assert mine[0] in [j["id"] for j in rest["data"]]
    assert all(j["object"] == "job" and "output" not in j for j in rest["data"])
    bad = client.get("/v1/jobs?status=done", headers={"Authorization": "Bearer key-a"})
    assert bad.status_code == 400 and bad.get_json()["error"]["param"] == "status"
    assert client.get("/v1/jobs?limit=0", headers={"Authorization": "Bearer key-a"}).status_code == 400
    assert client.get("/v1/jobs").status_code == 401
    stats = client.get("/v1/stats", headers={"Authorization": "Bearer key-a"}).get_json()
    assert stats["object"] == "stats" and {"queue", "running", "workers", "recent", "batches"} <= set(stats)


def test_live_buckets_give_rates_a_ttft_p95_and_an_error_rate(job_store):
    now = [1_000_000.0]
    live = LiveStats(job_store.redis, f"live-test-{time.time_ns()}", clock=lambda: now[0])
    done = JobOutcome("j", "succeeded", "stop", completion_tokens=40, ttft_s=0.2)
    for i in range(20):
        live.record(replace(done, ttft_s=0.2 if i < 19 else 4.0))
    live.record(replace(done, status="failed", completion_tokens=0, ttft_s=None))
    now[0] += 10
    window = live.window(60)
    assert window["jobs_ended"] == 21 and window["jobs_failed"] == 1 and window["error_rate"] == pytest.approx(1 / 21)
    assert window["ttft_p95_s"] == 0.25  # 19 of 20 at or under 0.25 s: the 95th percentile's bin
    assert sum(b["out_tok_per_s"] for b in window["series"]) == pytest.approx(20 * 40 / 10)
    assert len(window["series"]) == 6 and window["out_tok_per_s"] == pytest.approx(20 * 40 / 60)
