"""Token streaming over SSE and WebSocket: live, resumed, replayed, and for many clients at once."""

import threading
import time

import httpx
import pytest

from app.jobs.events import TOKEN, EventLog, token_event
from app.jobs.record import JobStatus
from tests.helpers.waiting import wait_until
from tests.integration.streams import check_complete, read_sse, sse_events, ws_events

pytestmark = pytest.mark.usefixtures("worker")


def submit(http, **body):
    response = http.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_sse_stream_concatenates_to_the_final_text(http, france):
    final = check_complete(sse_events(http, submit(http, prompt=france, temperature=0)))
    assert final["status"] == "succeeded" and "Paris" in final["output"]
    assert final["usage"]["completion_tokens"] > 0 and final["timings"]["ttft_s"] > 0


def test_submit_with_stream_true_answers_with_the_stream(http, france):
    with http.stream("POST", "/v1/jobs", json={"prompt": france, "temperature": 0, "stream": True}) as response:
        assert response.status_code == 200
        job_id = response.headers["X-Job-Id"]
        assert response.headers["Location"] == f"/v1/jobs/{job_id}"
        final = check_complete(read_sse(response))
    assert "Paris" in final["output"]
    assert http.get(f"/v1/jobs/{job_id}").json()["request"] == {
        "prompt": france,
        "raw": False,
        "temperature": 0.0,
        "top_p": 1.0,
        "top_k": 0,
        "stop": [],
        "ignore_eos": False,
        "priority": 5,
    }


def test_resume_after_an_event_gets_exactly_the_rest(http, france):
    job_id = submit(http, prompt=france, temperature=0)
    full = sse_events(http, job_id)
    middle = len(full) // 2
    assert sse_events(http, job_id, last_event_id=middle) == full[middle + 1 :]
    assert sse_events(http, job_id, last_event_id=len(full) - 2) == full[-1:]


def test_late_client_gets_the_full_replay_over_sse_and_websocket(http, api_url, france, wait_for_job):
    job_id = submit(http, prompt=france, temperature=0, max_tokens=12)
    wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id)
    replay = sse_events(http, job_id)
    check_complete(replay)
    assert ws_events(api_url, job_id) == replay
    assert ws_events(api_url, job_id, query=f"?last_event_id={len(replay) - 2}") == replay[-1:]


def test_websocket_streams_live(http, api_url, france):
    job_id = submit(http, prompt=france, temperature=0)
    final = check_complete(ws_events(api_url, job_id))
    assert "Paris" in final["output"]


@pytest.mark.parametrize("header", ["abc", "-1", "1.5", "9" * 12])
def test_malformed_last_event_id_is_a_400(http, header, france):
    job_id = submit(http, prompt=france, max_tokens=2)
    response = http.get(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": header})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Last-Event-ID"


def test_unknown_job_on_stream_routes_is_a_404(http, api_url):
    missing = "4b3a1f0e-3c1d-4f5e-9a7b-2c8d9e0f1a2b"
    assert http.get(f"/v1/jobs/{missing}/events").status_code == 404
    response = http.get(
        f"/v1/jobs/{missing}/ws",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
        },
    )
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"


def test_two_hundred_clients_on_one_job_all_get_every_event(http, api_url):
    job_id = submit(http, prompt="Tell me about the sea.", temperature=0, max_tokens=48)
    results: list = [None] * 200

    def client(i: int) -> None:
        with httpx.Client(base_url=api_url, timeout=180) as own:
            results[i] = sse_events(own, job_id)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    reference = results[0]
    check_complete(reference)
    assert all(r == reference for r in results), f"{sum(r != reference for r in results)} clients differ"


def test_cancel_queued_and_running_jobs(http, job_store, config, france, wait_for_job, wait_for_task):
    from workers.celery_app import GENERATE_TASK, make_celery

    # A job that is still waiting for a worker: stored, its task not yet delivered.
    queued = job_store.create({"prompt": france, "max_tokens": 8}, tenant="", model="smollm2-135m-instruct")["id"]
    running = submit(http, prompt="Write a very long story about a dragon.", max_tokens=400, temperature=0)
    events = EventLog(job_store.redis, job_store.keys, ttl_s=600)
    wait_until(lambda: sum(e["type"] == TOKEN for e in events.read(running)) >= 3, 60, what="the running job's first three tokens")

    cancelled = http.delete(f"/v1/jobs/{queued}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    make_celery(config).send_task(GENERATE_TASK, args=[queued], task_id=queued)  # its task arrives late

    started = time.monotonic()
    response = http.delete(f"/v1/jobs/{running}")
    stopped = wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), running, timeout=5)
    assert time.monotonic() - started < 1.0
    assert response.status_code in (200, 202)
    assert stopped["status"] == "cancelled" and stopped["finish_reason"] == "cancelled"
    assert 0 < stopped["usage"]["completion_tokens"] < 400
    final = check_complete(sse_events(http, running))
    assert final["finish_reason"] == "cancelled" and final["status"] == "cancelled"

    assert wait_for_task(queued) == "cancelled"  # the queued job's message reached the worker, which skipped it
    never_ran = http.get(f"/v1/jobs/{queued}").json()
    assert never_ran["status"] == "cancelled" and never_ran["attempts"] == 0 and never_ran["started_at"] is None
    assert check_complete(sse_events(http, queued))["finish_reason"] == "cancelled"
    assert http.delete(f"/v1/jobs/{running}").status_code == 409


def test_redelivered_job_continues_its_stream_without_repeats(http, job_store, config, france):
    """A worker died after streaming three tokens: the re-run continues after them."""
    from workers.celery_app import GENERATE_TASK, make_celery

    job = job_store.create({"prompt": france, "temperature": 0}, tenant="", model="smollm2-135m-instruct")
    assert job_store.start(job["id"], "a-worker-that-died").outcome == "started"
    events = EventLog(job_store.redis, job_store.keys, ttl_s=600)
    for index, (text, token) in enumerate([("The", 504), (" capital", 3575), (" of", 282)]):
        events.publish(job["id"], index, token_event(text, [token]))
    make_celery(config).send_task(GENERATE_TASK, args=[job["id"]])

    final = check_complete(sse_events(http, job["id"]))
    assert final["output"] == "The capital of France is Paris."
    record = http.get(f"/v1/jobs/{job['id']}").json()
    assert record["status"] == JobStatus.SUCCEEDED and record["attempts"] == 2
