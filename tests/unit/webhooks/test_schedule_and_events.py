"""The retry schedule (Standard Webhooks' example, with jitter) and the message body."""

from __future__ import annotations

import json
import random

import pytest

from app.webhooks.events import event_id, iso_time, job_data, missing_job, payload, subject_of
from app.webhooks.schedule import DEFAULT_RETRY_S, JITTER, horizon_s, parse_schedule, retry_delay


def test_the_default_schedule_is_the_spec_example():
    assert parse_schedule(DEFAULT_RETRY_S) == (5, 300, 1800, 7200, 18000, 36000, 36000)


def test_each_retry_waits_its_delay_give_or_take_the_jitter_then_the_schedule_is_spent():
    schedule = parse_schedule("5,300,1800")
    rng = random.Random(7)
    for failures, delay in enumerate(schedule, start=1):
        waits = [retry_delay(failures, schedule, rng) for _ in range(200)]
        assert all(delay * (1 - JITTER) <= wait <= delay * (1 + JITTER) for wait in waits)
        assert len(set(waits)) > 100  # spread: events that failed together do not come back together
    assert retry_delay(4, schedule, rng) is None
    assert horizon_s(schedule) == pytest.approx(2105 * (1 + JITTER))


@pytest.mark.parametrize("raw", ["5,0", "-1", "5,abc"])
def test_a_bad_schedule_is_refused(raw):
    with pytest.raises(ValueError):
        parse_schedule(raw)


def test_the_body_is_type_timestamp_and_data():
    body = json.loads(payload("job.succeeded", 1796634875.5861123, {"id": "j1"}))
    assert body == {"type": "job.succeeded", "timestamp": "2026-12-07T09:14:35.586112Z", "data": {"id": "j1"}}
    assert iso_time(0) == "1970-01-01T00:00:00.000000Z"
    assert event_id("batch_abc") == "msg_batch_abc" and subject_of("msg_batch_abc") == "batch_abc"


def test_a_long_output_is_left_out_with_a_link():
    job = {"id": "j1", "object": "job", "status": "succeeded", "output": "é" * 40, "webhook": {"status": "pending"}, "stream_token": "t"}
    short = job_data(job, max_output_bytes=80, job_url="https://api.example.com/v1/jobs/j1")
    assert short["output"] == "é" * 40 and "webhook" not in short and "stream_token" not in short
    long = job_data(job, max_output_bytes=79, job_url="https://api.example.com/v1/jobs/j1")  # 80 bytes of UTF-8
    assert long["output"] is None and long["output_truncated"] is True and long["output_url"] == "https://api.example.com/v1/jobs/j1"
    assert missing_job("j2", "job.expired") == {"id": "j2", "object": "job", "status": "expired"}
