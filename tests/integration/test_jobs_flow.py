"""The whole path over HTTP: gunicorn API -> Celery on Redis -> worker with SmolLM2 -> poll."""

import uuid

import pytest

pytestmark = pytest.mark.usefixtures("worker")


def submit(http, **body):
    response = http.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def poll(http):
    def get(job_id):
        response = http.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    return get


def test_france_prompt_answers_paris(http, france, wait_for_job):
    accepted = submit(http, prompt=france, temperature=0)
    assert accepted["status"] == "queued"
    assert accepted["url"] == f"/v1/jobs/{accepted['id']}"
    uuid.UUID(accepted["id"], version=4)

    job = wait_for_job(poll(http), accepted["id"])

    assert job["status"] == "succeeded", job
    assert "Paris" in job["output"]
    assert job["finish_reason"] == "stop"
    assert job["usage"]["prompt_tokens"] > 0 and job["usage"]["completion_tokens"] > 0
    assert job["usage"]["total_tokens"] == job["usage"]["prompt_tokens"] + job["usage"]["completion_tokens"]
    timings = job["timings"]
    assert 0 <= timings["queue_wait_s"] <= timings["ttft_s"] <= timings["total_s"]
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    assert job["error"] is None and job["attempts"] == 1


def test_chat_messages_and_max_tokens_length(http, wait_for_job):
    messages = [
        {"role": "system", "content": "You are a poet."},
        {"role": "user", "content": "Write a long poem about the sea."},
    ]
    job = wait_for_job(poll(http), submit(http, messages=messages, max_tokens=5, temperature=0)["id"])
    assert job["status"] == "succeeded"
    assert job["finish_reason"] == "length"
    assert job["usage"]["completion_tokens"] == 5


def test_stop_string_ends_text_before_it(http, france, wait_for_job):
    job = wait_for_job(poll(http), submit(http, prompt=france, temperature=0, stop=" Paris")["id"])
    assert job["status"] == "succeeded"
    assert job["finish_reason"] == "stop"
    assert job["output"] == "The capital of France is"


def test_same_seed_same_sample(http, wait_for_job):
    body = {"prompt": "Invent a name for a cat.", "temperature": 1.0, "seed": 1234, "max_tokens": 12}
    first, second = (wait_for_job(poll(http), submit(http, **body)["id"]) for _ in range(2))
    assert first["status"] == second["status"] == "succeeded"
    assert first["output"] == second["output"]


def test_queued_jobs_report_their_position(http, france, wait_for_job):
    ids = [submit(http, prompt=france, temperature=0, max_tokens=16)["id"] for _ in range(3)]
    records = [poll(http)(job_id) for job_id in ids]
    positions = [r["queue_position"] for r in records if r["status"] == "queued"]
    assert positions == sorted(positions) and all(p >= 1 for p in positions)
    assert all(wait_for_job(poll(http), job_id)["status"] == "succeeded" for job_id in ids)


def test_failed_job_then_next_succeeds(http, job_store, config, france, wait_for_job):
    """A message whose stored request is corrupt (it bypassed the API) fails; the worker serves on."""
    from workers.celery_app import GENERATE_TASK, make_celery

    broken = job_store.create({"prompt": 12345}, tenant="", model="smollm2-135m-instruct")
    make_celery(config).send_task(GENERATE_TASK, args=[broken["id"]], task_id=broken["id"])
    failed = wait_for_job(poll(http), broken["id"])
    assert failed["status"] == "failed"
    assert "prompt" in failed["error"]["message"]
    assert failed["output"] is None

    job = wait_for_job(poll(http), submit(http, prompt=france, temperature=0)["id"])
    assert job["status"] == "succeeded" and "Paris" in job["output"]


def test_a_finished_job_is_not_run_twice(http, config, france, wait_for_job, wait_for_task):
    """A duplicate delivery of a finished job's message (e.g. a redelivery) changes nothing."""
    from workers.celery_app import GENERATE_TASK, make_celery

    job = wait_for_job(poll(http), submit(http, prompt=france, temperature=0, max_tokens=8)["id"])
    duplicate = make_celery(config).send_task(GENERATE_TASK, args=[job["id"]])
    assert wait_for_task(duplicate.id) == "succeeded"  # the worker took the message and left the job as it was
    again = poll(http)(job["id"])
    assert again == job


def test_bad_json_over_http_is_a_400_not_a_500(http):
    response = http.post("/v1/jobs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_readyz_is_200_with_a_live_worker(http, config):
    response = http.get("/readyz")
    assert response.status_code == 200
    assert response.json()["workers"][0]["queues"] == [config.worker.queue]
    assert http.get("/healthz").json() == {"status": "ok"}
