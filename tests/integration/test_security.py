"""Who may reach what, with API keys set: stream tokens instead of keys in URLs, the routes open
without a key, and a tenant erasing a finished job (record, events, cache entry)."""

from __future__ import annotations

import json
import uuid

import pytest

from api.stream_tokens import StreamTokens
from app.config import load_config
from app.settings.value_types import key_digest
from cache.store import CacheStore
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.usefixtures("worker")

ALICE = {"Authorization": "Bearer key-alice"}
BOB = {"Authorization": "Bearer key-bob"}
OPEN_ROUTES = {"/healthz", "/health", "/readyz", "/metrics"}  # /health: /healthz under the name vLLM-minded clients probe
HANDSHAKE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture(scope="module")
def keyed_app(stack_env, make_app):
    """Keys as the compose file gives them (a digest) and as a variable (plaintext); the cache on (exact tier)."""
    env = {
        **stack_env,
        "LLMJOBS_API_KEYS": f"{key_digest('key-alice')}:alice,key-bob:bob",
        "LLMJOBS_CACHE": "on",
        "LLMJOBS_CACHE_SEMANTIC": "off",
    }
    return make_app(load_config(env))


@pytest.fixture
def client(keyed_app):
    return keyed_app.test_client()


def sse(client, url: str, **kwargs) -> tuple[int, list[dict]]:
    response = client.get(url, **kwargs)
    events = [json.loads(line[6:]) for line in response.get_data(as_text=True).splitlines() if line.startswith("data: ")]
    return response.status_code, events


def submit(client, prompt: str, headers=ALICE, **fields) -> dict:
    response = client.post("/v1/jobs", json={"prompt": prompt, "temperature": 0, "max_tokens": 12, **fields}, headers=headers)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_the_submit_reply_carries_a_stream_token_that_opens_only_that_stream(client, france):
    job = submit(client, france)
    token = job["stream_token"]
    status, events = sse(client, f"/v1/jobs/{job['id']}/events?token={token}")
    assert status == 200 and events[-1]["type"] == "final" and "Paris" in events[-1]["output"]
    other = submit(client, "Name a colour.")
    assert client.get(f"/v1/jobs/{other['id']}/events?token={token}").status_code == 401  # bound to its job
    assert client.get(f"/v1/jobs/{job['id']}?token={token}").status_code == 401  # and to the stream routes
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/v1/jobs/{job['id']}/events?token={tampered}").status_code == 401
    assert sse(client, f"/v1/jobs/{job['id']}/events", headers=ALICE)[0] == 200  # a header still works


def test_the_owner_gets_a_fresh_token_with_the_job_and_nobody_else_gets_one(client, france):
    job = submit(client, france)
    polled = client.get(f"/v1/jobs/{job['id']}", headers=ALICE).get_json()
    assert polled["stream_token"] and sse(client, f"/v1/jobs/{job['id']}/events?token={polled['stream_token']}")[0] == 200
    assert client.get(f"/v1/jobs/{job['id']}", headers=BOB).status_code == 404
    bobs = submit(client, france, headers=BOB)
    assert client.get(f"/v1/jobs/{job['id']}/events?token={bobs['stream_token']}").status_code == 401


def test_an_expired_token_opens_nothing(keyed_app, client, france):
    job = submit(client, france)
    services = keyed_app.extensions["llmjobs"]
    expired = StreamTokens(services.jobs.redis, services.jobs.keys.prefix, ttl_s=-1)  # every token is already too old
    assert expired.tenant_for(job["stream_token"], job["id"]) is None
    assert StreamTokens(services.jobs.redis, services.jobs.keys.prefix, ttl_s=60).tenant_for(job["stream_token"], job["id"]) == "alice"


def test_an_api_key_in_the_url_is_refused(client, france):
    job = submit(client, france)
    for query in ("api_key=key-alice", f"api_key={key_digest('key-alice')}"):
        response = client.get(f"/v1/jobs/{job['id']}/events?{query}")
        assert response.status_code == 401 and "not accepted in a URL" in response.get_json()["error"]["message"]


def test_only_the_probes_and_metrics_answer_without_a_key(keyed_app, client):
    job_id = str(uuid.uuid4())
    answered = {}
    for rule in keyed_app.url_map.iter_rules():
        path = rule.rule.replace("<job_id>", job_id).replace("<path:name>", "css/swagger-ui.css")
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        headers = HANDSHAKE if rule.websocket else {}
        with client.open(path, method=method, json={} if method == "POST" else None, headers=headers) as response:
            answered[rule.rule] = response.status_code
    assert {rule for rule, status in answered.items() if status != 401} == OPEN_ROUTES, answered
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "alice" not in metrics and "key-" not in metrics


def test_public_pages_opens_the_playground_and_docs_only(stack_env, make_app):
    env = {**stack_env, "LLMJOBS_API_KEYS": "key-alice:alice", "LLMJOBS_PUBLIC_PAGES": "on"}
    client = make_app(load_config(env)).test_client()
    for path in ("/", "/docs", "/openapi.json"):
        with client.get(path) as response:  # closes the file it streams
            assert response.status_code == 200, path
    assert client.get("/v1/models").status_code == 401


def test_erasing_a_finished_job_removes_its_record_events_and_cache_entry(keyed_app, client):
    services = keyed_app.extensions["llmjobs"]
    prompt = f"Spell the word {uuid.uuid4().hex[:6]} backwards."
    job = submit(client, prompt)
    assert client.post(f"/v1/jobs/{job['id']}/erase", headers=BOB).status_code == 404  # not bob's
    status, events = sse(client, f"/v1/jobs/{job['id']}/events?token={job['stream_token']}")
    assert events[-1]["status"] == "succeeded"
    store = CacheStore(services.jobs.redis, services.jobs.keys.prefix, ttl_s=60, max_entries=10)
    exact = json.loads(services.jobs.redis.hget(services.jobs.keys.job(job["id"]), "cache_ticket"))["exact"]
    wait_until(lambda: store.get_exact(exact), 30, what="the worker to cache the answer")  # just after its final event
    hit = submit(client, prompt)  # answered from the entry the first job created
    assert hit["cached"] is True
    entry = hit["cache"]["entry"]

    def erase():
        return client.post(f"/v1/jobs/{job['id']}/erase", headers=ALICE)

    response = wait_until(lambda: (r := erase()).status_code != 409 and r, 30, what="the erase (409 while the answer is stored)")
    assert response.status_code == 200 and response.get_json() == {
        "id": job["id"],
        "object": "job.erased",
        "erased": True,
        "cache_entries": 1,
    }
    assert client.get(f"/v1/jobs/{job['id']}", headers=ALICE).status_code == 404
    assert not services.jobs.redis.exists(services.jobs.keys.events(job["id"]), store.entry_key(entry))
    assert submit(client, prompt)["cached"] is False  # the answer is gone from the cache too
    assert erase().status_code == 404


def test_a_running_job_cannot_be_erased(client):
    job = submit(client, "Count from one to two hundred.", max_tokens=400)
    response = client.post(f"/v1/jobs/{job['id']}/erase", headers=ALICE)
    assert response.status_code == 409 and "cancel it first" in response.get_json()["error"]["message"]
    client.delete(f"/v1/jobs/{job['id']}", headers=ALICE)
