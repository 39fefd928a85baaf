"""A webhook's message: its type, its id and the Standard Webhooks payload ``{"type", "timestamp", "data"}``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

JOB_TYPES = ("job.succeeded", "job.failed", "job.cancelled", "job.expired")
BATCH_TYPES = ("batch.completed", "batch.failed", "batch.cancelled", "batch.expired")
EVENT_PREFIX = "msg_"  # the webhook-id is msg_ + the job's or batch's id: one final event each, the same on every retry


def event_id(subject_id: str) -> str:
    return EVENT_PREFIX + subject_id


def subject_of(event: str) -> str:
    return event.removeprefix(EVENT_PREFIX)


def iso_time(epoch_s: float) -> str:
    """ISO-8601 in UTC with microseconds and a Z, as Standard Webhooks' examples write it."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload(event_type: str, at: float, data: dict[str, Any]) -> bytes:
    """The body sent (and signed) on every attempt: built once, kept with the event."""
    return json.dumps({"type": event_type, "timestamp": iso_time(at), "data": data}, separators=(",", ":")).encode()


def job_data(job: dict[str, Any], *, max_output_bytes: int, job_url: str) -> dict[str, Any]:
    """A job's record as a webhook carries it: without its webhook's own delivery state (which changes with every
    attempt, while the body must not), and without its output text past ``max_output_bytes``: ``output_url`` to
    fetch it instead."""
    data = {name: value for name, value in job.items() if name not in ("webhook", "stream_token")}
    output = data.get("output")
    if isinstance(output, str) and len(output.encode()) > max_output_bytes:
        data.update(output=None, output_truncated=True, output_url=job_url)
    return data


def missing_job(job_id: str, event_type: str) -> dict[str, Any]:
    """What is known of a job whose record expired (or was erased) before its event was first sent."""
    return {"id": job_id, "object": "job", "status": event_type.split(".", 1)[1]}
