"""Webhooks on the real stack: a job's or batch's end reaches a real receiver on loopback, signed per Standard Webhooks
(verified with the ``standardwebhooks`` library), once accepted, through receiver failures, hangs and outages and a
delivery worker killed mid-call."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime

import openai
import pytest

from app.cli.commands import webhook_worker_command
from loadtest.webhook_receiver import HANG
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.usefixtures("worker")


class Deliverer:
    """The stack's webhook worker (``llmjobs webhooks worker``), which a test may kill and start again."""

    def __init__(self, start) -> None:
        self.start = start
        self.proc = None
        start(self)


@pytest.fixture(scope="module")
def deliverer(config, stack_env, tmp_path_factory, start_process) -> Iterator[Deliverer]:
    logs = tmp_path_factory.mktemp("webhook-worker")
    with ExitStack() as stack:

        def start(holder: Deliverer) -> None:
            log = logs / f"webhooks-{len(list(logs.iterdir()))}.log"
            ready = lambda: log.exists() and " ready." in log.read_text(errors="replace")  # noqa: E731 (Celery's line)
            holder.proc = stack.enter_context(start_process("webhook worker", webhook_worker_command(config), stack_env, log, ready))

        yield Deliverer(start)


def delivery_state(http, job_id: str) -> dict:
    return http.get(f"/v1/jobs/{job_id}").json()["webhook"]


def wait_state(http, job_id: str, status: str, timeout: float = 60) -> dict:
    return wait_until(lambda: (hook := delivery_state(http, job_id))["status"] == status and hook, timeout, what=f"webhook {status}")


def submit(http, url: str, **body) -> str:
    reply = http.post("/v1/jobs", json={"prompt": "Say hi.", "temperature": 0, "max_tokens": 4, "webhook": url, **body})
    assert reply.status_code == 202, reply.text
    assert reply.json()["id"]
    return reply.json()["id"]


def test_a_jobs_end_is_announced_once_signed_with_its_record(http, webhook_receiver, deliverer, france):
    job_id = submit(http, webhook_receiver.url("ok"), prompt=france, max_tokens=16)
    (delivery,) = webhook_receiver.wait_accepted("ok")
    assert delivery.payload is not None, delivery.error  # standardwebhooks verified it
    assert delivery.headers["webhook-id"] == f"msg_{job_id}"
    event = delivery.payload
    assert event["type"] == "job.succeeded" and event["data"]["id"] == job_id and event["data"]["object"] == "job"
    datetime.fromisoformat(event["timestamp"])  # ISO-8601
    hook = wait_state(http, job_id, "delivered")
    record = http.get(f"/v1/jobs/{job_id}").json()
    assert event["data"]["output"] == record["output"] and event["data"]["status"] == "succeeded"
    assert hook["url"] == webhook_receiver.url("ok") and hook["id"] == f"msg_{job_id}" and hook["type"] == "job.succeeded"
    assert [attempt["status_code"] for attempt in hook["attempts"]] == [204]
    assert len(webhook_receiver.received("ok")) == 1  # delivered: never sent again


def test_cancelled_and_expired_jobs_are_announced(http, webhook_receiver, deliverer):
    long = submit(http, webhook_receiver.url("cancel"), max_tokens=400, ignore_eos=True)
    wait_until(lambda: http.get(f"/v1/jobs/{long}").json()["status"] != "queued", 60, what="the job to start")
    assert http.delete(f"/v1/jobs/{long}").status_code in (200, 202)
    (cancelled,) = webhook_receiver.wait_accepted("cancel")
    assert cancelled.payload["type"] == "job.cancelled" and cancelled.payload["data"]["id"] == long
    late = submit(http, webhook_receiver.url("expire"), deadline_s=0.001)
    (expired,) = webhook_receiver.wait_accepted("expire")
    assert expired.payload["type"] == "job.expired" and expired.payload["data"]["id"] == late
    assert expired.payload["data"]["status"] == "expired"


def test_the_openai_routes_take_webhook_as_an_extra_body_field(api_url, webhook_receiver, deliverer):
    client = openai.OpenAI(base_url=f"{api_url}/v1", api_key="unused", max_retries=0)
    reply = client.chat.completions.create(
        model="smollm2-135m-instruct", messages=[{"role": "user", "content": "Say hi."}], max_tokens=4, temperature=0,
        extra_body={"webhook": webhook_receiver.url("openai")},
    )  # fmt: skip
    (delivery,) = webhook_receiver.wait_accepted("openai")
    assert delivery.payload["type"] == "job.succeeded"
    assert delivery.payload["data"]["output"] == reply.choices[0].message.content


def test_a_batchs_end_is_announced_with_the_batch_object(api_url, webhook_receiver, deliverer):
    client = openai.OpenAI(base_url=f"{api_url}/v1", api_key="unused", max_retries=0)
    lines = [{"custom_id": f"q{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": f"Count to {i}."}], "max_tokens": 4}}
             for i in range(2)]  # fmt: skip
    upload = client.files.create(file=("in.jsonl", io.BytesIO("\n".join(map(json.dumps, lines)).encode())), purpose="batch")
    hook = {"webhook": webhook_receiver.url("batch")}
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h", extra_body=hook)
    assert batch.model_extra["webhook"]["status"] == "waiting"
    (delivery,) = webhook_receiver.wait_accepted("batch", timeout=120)
    event = delivery.payload
    assert event["type"] == "batch.completed" and delivery.headers["webhook-id"] == f"msg_{batch.id}"
    assert event["data"]["id"] == batch.id and event["data"]["request_counts"] == {"total": 2, "completed": 2, "failed": 0}
    assert event["data"]["output_file_id"]
    wait_until(lambda: client.batches.retrieve(batch.id).model_extra["webhook"]["status"] == "delivered", 30, what="delivered")


def test_a_failing_receiver_gets_the_same_event_again_until_it_accepts(http, webhook_receiver, deliverer):
    webhook_receiver.plan("flaky", 500, 503)
    job_id = submit(http, webhook_receiver.url("flaky"))
    webhook_receiver.wait_accepted("flaky")
    hook = wait_state(http, job_id, "delivered")
    assert [attempt["status_code"] for attempt in hook["attempts"]] == [500, 503, 204]
    calls = webhook_receiver.received("flaky")
    assert len(calls) == 3 and all(call.payload is not None for call in calls)  # each attempt signed afresh, each verifies
    assert {call.headers["webhook-id"] for call in calls} == {f"msg_{job_id}"} and len({call.body for call in calls}) == 1
    assert calls[1].received_at - calls[0].received_at >= 0.3 * 0.9  # the schedule's first retry, less its jitter


def test_a_receiver_that_goes_away_and_comes_back_gets_the_event_once(http, webhook_receiver, deliverer):
    webhook_receiver.stop()
    try:
        job_id = submit(http, webhook_receiver.url("outage"))
        wait_until(lambda: len(delivery_state(http, job_id)["attempts"]) >= 2, 60, what="two refused attempts")
    finally:
        webhook_receiver.start()
    webhook_receiver.wait_accepted("outage")
    hook = wait_state(http, job_id, "delivered")
    assert all("error" in attempt for attempt in hook["attempts"][:-1]) and hook["attempts"][-1]["status_code"] == 204
    assert len(webhook_receiver.accepted("outage")) == 1


def test_a_hanging_receiver_times_out_and_is_tried_again(http, webhook_receiver, deliverer):
    webhook_receiver.plan("hang", (HANG, 3))
    job_id = submit(http, webhook_receiver.url("hang"))
    webhook_receiver.wait_accepted("hang")
    hook = wait_state(http, job_id, "delivered")
    assert hook["attempts"][0]["error"] == "no answer within 1 s" and hook["attempts"][-1]["status_code"] == 204
    assert len(webhook_receiver.accepted("hang")) == 1


def test_a_410_stops_at_once_the_event_is_listed_and_can_be_redelivered(http, webhook_receiver, deliverer):
    webhook_receiver.plan("gone", 410)
    job_id = submit(http, webhook_receiver.url("gone"))
    hook = wait_state(http, job_id, "failed")
    assert [attempt["status_code"] for attempt in hook["attempts"]] == [410]
    failed = http.get("/v1/webhooks/failed").json()
    assert f"msg_{job_id}" in [event["id"] for event in failed["data"]]
    assert "llmjobs_webhooks_failed " in http.get("/metrics").text
    again = http.post(f"/v1/webhooks/msg_{job_id}/redeliver")
    assert again.status_code == 200 and again.json()["state"] in ("pending", "delivered")
    webhook_receiver.wait_accepted("gone")
    assert wait_state(http, job_id, "delivered")["attempts"][-1]["status_code"] == 204
    assert http.post(f"/v1/webhooks/msg_{job_id}x/redeliver").status_code == 404


def test_an_event_is_given_up_once_the_schedule_is_spent(http, webhook_receiver, deliverer):
    webhook_receiver.plan("down", *[500] * 10)
    job_id = submit(http, webhook_receiver.url("down"))
    hook = wait_state(http, job_id, "failed")
    assert [attempt["status_code"] for attempt in hook["attempts"]] == [500] * 6  # the first try and 5 retries
    metrics = http.get("/metrics").text
    assert 'llmjobs_webhook_deliveries_total{outcome="failed"}' in metrics and "llmjobs_webhook_delivery_latency_seconds_bucket" in metrics


def test_a_delivery_worker_killed_mid_call_loses_no_event(http, webhook_receiver, deliverer):
    webhook_receiver.plan("killed", (HANG, 30))
    job_id = submit(http, webhook_receiver.url("killed"))
    wait_until(lambda: webhook_receiver.received("killed"), 60, what="the first call to hang")
    deliverer.proc.kill()  # SIGKILL mid-call: the attempt is never recorded
    deliverer.proc.wait()
    deliverer.start(deliverer)
    webhook_receiver.wait_accepted("killed", timeout=60)  # its lease lapses; the event is handed over again
    hook = wait_state(http, job_id, "delivered")
    calls = webhook_receiver.received("killed")
    assert len(webhook_receiver.accepted("killed")) == 1 and {call.headers["webhook-id"] for call in calls} == {f"msg_{job_id}"}
    assert hook["attempts"][-1]["status_code"] == 204


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:1/hook", "not a public address"),
        ("http://10.1.2.3/hook", "not a public address"),
        ("http://169.254.169.254/latest/meta-data", "not a public address"),
        ("http://[::1]/hook", "not a public address"),
        ("ftp://example.com/hook", "http:// or https://"),
        ("https://user:secret@example.com/hook", "credentials"),
        ("https://does-not-exist.invalid/hook", "does not resolve"),
    ],
)
def test_unsafe_webhook_urls_are_refused_at_submit(http, url, says):
    for path, body in (
        ("/v1/jobs", {"prompt": "hi", "webhook": url}),
        ("/v1/chat/completions", {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "hi"}], "webhook": url}),
        ("/v1/batches", {"input_file_id": "file-x", "endpoint": "/v1/completions", "completion_window": "24h", "webhook": url}),
    ):
        reply = http.post(path, json=body)
        assert reply.status_code == 400, (path, reply.text)
        error = reply.json()["error"]
        assert error["param"] == "webhook" and says in error["message"], (path, error)
