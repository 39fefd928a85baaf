"""The result cache through the real stack: two cache-enabled API processes (gunicorn)
sharing the tests' Redis and worker. Their tenants: alice (key ka) and bob (key kb)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial

import httpx
import pytest

from app.cli.commands import api_command
from app.cli.embedded_redis import free_port
from app.config import load_config
from tests.helpers.prometheus import sample
from tests.helpers.waiting import wait_until
from tests.integration.streams import sse_events

pytestmark = pytest.mark.usefixtures("worker")

ALICE = {"Authorization": "Bearer ka"}
BOB = {"Authorization": "Bearer kb"}


@pytest.fixture(scope="module")
def cache_apis(stack_env, tmp_path_factory, start_process) -> Iterator[list[httpx.Client]]:
    """Two API processes with the cache on, as two hosts behind a load balancer would be."""
    with ExitStack() as stack:
        clients = []
        for n in range(2):
            env = {
                **stack_env,
                "LLMJOBS_CACHE": "on",
                "LLMJOBS_PORT": str(free_port()),
                "LLMJOBS_API_KEYS": "ka:alice,kb:bob",
                "LLMJOBS_CACHE_TENANT_MODES": "bob:exact",
            }
            config = load_config(env)
            url = f"http://{config.api.host}:{config.api.port}"
            log = tmp_path_factory.mktemp("logs") / f"cache-api-{n}.log"
            stack.enter_context(start_process(f"cache API {n}", api_command(config), env, log, f"{url}/healthz"))
            clients.append(stack.enter_context(httpx.Client(base_url=url, timeout=60)))
        yield clients


@pytest.fixture
def finished(wait_for_job):
    """``finished(api, job_id, headers=ALICE)``: the job's record once it has ended."""

    def wait(api: httpx.Client, job_id: str, headers=ALICE) -> dict:
        return wait_for_job(lambda j: api.get(f"/v1/jobs/{j}", headers=headers).json(), job_id)

    return wait


def submit(api: httpx.Client, headers=ALICE, **body) -> dict:
    response = api.post("/v1/jobs", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


def semantic_hit(api: httpx.Client, paraphrase: str) -> dict | None:
    """``api``'s answer to ``paraphrase`` (of the France prompt, 24 tokens) if its semantic index has
    the France answer, else None. A miss's job is cancelled at once, so the probe caches no answer
    of its own (which would turn the next try into an exact hit)."""
    job = submit(api, prompt=paraphrase, temperature=0, max_tokens=24)
    if job["cached"]:
        assert job["cache"]["tier"] == "semantic", job
        return job
    api.delete(f"/v1/jobs/{job['id']}", headers=ALICE)
    return None


def test_exact_and_paraphrase_hits_across_processes(cache_apis, france, finished):
    one, two = cache_apis
    first = finished(one, submit(one, prompt=france, temperature=0, max_tokens=24)["id"])
    assert first["status"] == "succeeded" and not first["cached"]

    # The worker recorded the answer; the other process serves it, exact tier first.
    again = submit(two, prompt=france, temperature=0, max_tokens=24)
    assert again["status"] == "succeeded" and again["cached"] and again["cache"]["tier"] == "exact"
    record = two.get(f"/v1/jobs/{again['id']}", headers=ALICE).json()
    assert (
        record["output"] == first["output"]
        and record["cached"]
        and record["usage"]["completion_tokens"] == first["usage"]["completion_tokens"]
    )

    # A paraphrase: the semantic tier, once the other process's index has the entry.
    paraphrase = "What's the capital of France? Answer in one sentence."
    hit = wait_until(lambda: semantic_hit(two, paraphrase), 10, what="the paraphrase to hit", interval=0.2)
    assert hit["cache"]["tier"] == "semantic" and 0.85 <= hit["cache"]["similarity"] < 1
    assert two.get(f"/v1/jobs/{hit['id']}", headers=ALICE).json()["output"] == first["output"]
    # The same paraphrase again: found by its own exact key now (no embedding), and says so in X-Cache.
    response = two.post("/v1/jobs", json={"prompt": paraphrase, "temperature": 0, "max_tokens": 24}, headers=ALICE)
    assert response.headers["X-Cache"] == "hit; tier=exact; mode=semantic" and response.json()["cache"]["entry"] == hit["cache"]["entry"]
    response = one.post("/v1/jobs", json={"prompt": france, "temperature": 0, "max_tokens": 24, "cache": False}, headers=ALICE)
    assert response.headers["X-Cache"] == "miss; mode=off"
    metrics = two.get("/metrics").text
    assert sample(metrics, "llmjobs_cache_lookups_total", tier="exact", result="hit") >= 2
    assert sample(metrics, "llmjobs_cache_lookups_total", tier="semantic", result="hit") >= 1
    assert sample(metrics, "llmjobs_jobs_submitted_total", served_by="cache") >= 3


def test_near_misses_other_parameters_and_tenants_miss(cache_apis, france, finished):
    one, two = cache_apis
    finished(one, submit(one, prompt=france, temperature=0, max_tokens=24)["id"])
    # Wait until both processes' indexes have the answer (a paraphrase new to each hits it there),
    # so that a miss below is the cache's decision and not a race with the index.
    probes = [
        (one, "What is capital of France? Answer in one sentence."),
        (two, "What's the capital of France? Answer in 1 sentence."),
    ]
    for api, paraphrase in probes:
        wait_until(partial(semantic_hit, api, paraphrase), 10, what="both indexes to have the answer", interval=0.2)
    for api in (one, two):
        assert not submit(api, prompt=france.replace("France", "Germany"), temperature=0, max_tokens=24)["cached"]
        assert not submit(api, prompt=france, temperature=0, max_tokens=25)["cached"]
        assert not submit(api, prompt=france, temperature=0, max_tokens=24, stop=["."])["cached"]
        assert not submit(api, headers=BOB, prompt=france, temperature=0, max_tokens=24)["cached"]
        assert not submit(api, prompt=france, temperature=0.8, max_tokens=24)["cached"]  # sampled: never cached
        assert not submit(api, prompt=france, temperature=0, max_tokens=24, cache=False)["cached"]
        response = api.post(
            "/v1/jobs", json={"prompt": france, "temperature": 0, "max_tokens": 24}, headers={**ALICE, "Cache-Control": "no-cache"}
        )
        assert response.status_code == 202 and not response.json()["cached"]


def test_strictness_per_request_and_per_tenant(cache_apis, france, finished):
    """``X-Cache-Mode: exact`` (or a tenant set to exact) keeps paraphrases out; the record and X-Cache say which mode applied."""
    one, _ = cache_apis
    finished(one, submit(one, prompt=france, temperature=0, max_tokens=24)["id"])
    paraphrase = "What's the capital of France? Answer in one sentence!"  # new to this test: no exact alias yet
    wait_until(lambda: semantic_hit(one, paraphrase), 10, what="the paraphrase to hit", interval=0.2)
    fresh = "Tell me the capital of France! Answer in one sentence."
    response = one.post("/v1/jobs", json={"prompt": fresh, "temperature": 0, "max_tokens": 24}, headers={**ALICE, "X-Cache-Mode": "exact"})
    assert response.status_code == 202 and response.headers["X-Cache"] == "miss; mode=exact", response.headers
    assert one.get(f"/v1/jobs/{response.json()['id']}", headers=ALICE).json()["cache_mode"] == "exact"
    one.delete(f"/v1/jobs/{response.json()['id']}", headers=ALICE)
    exact = one.post("/v1/jobs", json={"prompt": france, "temperature": 0, "max_tokens": 24}, headers={**ALICE, "X-Cache-Mode": "exact"})
    assert exact.headers["X-Cache"] == "hit; tier=exact; mode=exact" and exact.json()["cached"]
    bad = one.post("/v1/jobs", json={"prompt": france, "temperature": 0}, headers={**ALICE, "X-Cache-Mode": "loose"})
    assert bad.status_code == 400
    # bob's tenant is exact-only: a semantic request header cannot loosen it.
    job = submit(one, headers={**BOB, "X-Cache-Mode": "semantic"}, prompt=france, temperature=0, max_tokens=24)
    assert one.get(f"/v1/jobs/{job['id']}", headers=BOB).json()["cache_mode"] == "exact"
    one.delete(f"/v1/jobs/{job['id']}", headers=BOB)


def test_cached_job_streams_over_sse_and_the_openai_route(cache_apis, finished):
    one, _ = cache_apis
    prompt = f"Say hello to {uuid.uuid4().hex[:6]}."
    first = finished(one, submit(one, prompt=prompt, temperature=0, max_tokens=12)["id"])
    cached = submit(one, prompt=prompt, temperature=0, max_tokens=12)
    assert cached["cached"]
    events = _sse(one, cached["id"])
    assert [e["type"] for e in events] == ["token", "final"]
    assert events[0]["text"] == first["output"] == events[1]["output"] and events[1]["status"] == "succeeded"

    body = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": prompt}], "temperature": 0, "max_tokens": 12}
    fresh = one.post("/v1/chat/completions", json=body, headers=ALICE)
    assert fresh.status_code == 200, fresh.text
    again = one.post("/v1/chat/completions", json=body, headers=ALICE)
    assert again.json()["choices"][0]["message"]["content"] == fresh.json()["choices"][0]["message"]["content"]
    assert one.get(f"/v1/jobs/{again.json()['id'].removeprefix('chatcmpl-')}", headers=ALICE).json()["cache"]["tier"] == "exact"
    with one.stream("POST", "/v1/chat/completions", json={**body, "stream": True}, headers=ALICE) as response:
        text = "".join(line for line in response.iter_lines())
    assert "[DONE]" in text and "chat.completion.chunk" in text


def _sse(api: httpx.Client, job_id: str) -> list[dict]:
    api.headers.update(ALICE)
    try:
        return sse_events(api, job_id)
    finally:
        del api.headers["Authorization"]


def test_identical_requests_in_flight_coalesce(cache_apis, finished):
    one, two = cache_apis
    body = {"prompt": f"Count slowly from one to fifty. {uuid.uuid4().hex[:6]}", "temperature": 0, "max_tokens": 120, "ignore_eos": True}
    leader = submit(one, **body)
    follower = submit(two, **body)
    assert follower["coalesced_with"] == leader["id"] and not follower["cached"]
    # The leader's own client cancels: the job goes on for its follower.
    cancelled = one.delete(f"/v1/jobs/{leader['id']}", headers=ALICE)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    done = finished(two, follower["id"])
    assert done["status"] == "succeeded" and done["usage"]["completion_tokens"] == 120 and done["id"] == follower["id"]
    events = _sse(two, follower["id"])
    assert events[-1]["type"] == "final" and "".join(e["text"] for e in events[:-1]) == done["output"]
    # The follower cancelling alone stops nothing; both cancelling stops the work.
    leader2, follower2 = submit(one, **{**body, "max_tokens": 400}), None
    follower2 = submit(one, **{**body, "max_tokens": 400})
    assert follower2["coalesced_with"] == leader2["id"]
    assert one.delete(f"/v1/jobs/{follower2['id']}", headers=ALICE).json()["status"] == "cancelled"
    assert one.get(f"/v1/jobs/{leader2['id']}", headers=ALICE).json()["status"] in ("queued", "running")
    one.delete(f"/v1/jobs/{leader2['id']}", headers=ALICE)
    assert finished(one, leader2["id"])["status"] == "cancelled"


def test_concurrent_identical_requests_run_once(cache_apis, finished):
    one, two = cache_apis
    body = {"prompt": f"Name a colour. {uuid.uuid4().hex[:6]}", "temperature": 0, "max_tokens": 24}
    results: list[dict] = []
    threads = [threading.Thread(target=lambda api=api: results.append(submit(api, **body))) for api in (one, two) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    computing = [r for r in results if not r.get("coalesced_with") and not r["cached"]]
    assert len(computing) == 1, results
    outputs = {finished(one, r["id"])["output"] for r in results}
    assert len(outputs) == 1
