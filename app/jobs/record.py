"""A job record's shape: its statuses, its fields in the Redis hash, and the view clients see."""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import Any

from app.jobs.events import final_event
from app.webhooks.outbox import delivery_view


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # its deadline passed: before it started (never ran) or while it ran (partial output)


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED})

JSON_FIELDS = ("request", "usage", "timings", "error", "cache")
TIME_FIELDS = ("created_at", "started_at", "finished_at")


def new_job_id() -> str:
    return str(uuid.uuid4())


def is_job_id(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


DEFAULT_PRIORITY = 5


def queue_score(priority: int, created_at: float) -> float:
    """Where a job sorts in the queue: every job of a lower priority number before it, then by
    submit time (epoch seconds stay below 1e10 until the year 2286)."""
    return priority * 1e10 + created_at


def priority_of(score: float) -> int:
    """The priority a queue score was made from."""
    return int(score // 1e10)


def expired_event() -> dict[str, Any]:
    return final_event(status=JobStatus.EXPIRED.value, finish_reason="expired", output="", usage=None, timings=None, error=None)


def cancelled_event() -> dict[str, Any]:
    return final_event(status=JobStatus.CANCELLED.value, finish_reason="cancelled", output="", usage=None, timings=None, error=None)


def new_fields(job_id: str, request: dict[str, Any], tenant: str, model: str, now: float, status: str) -> dict[str, Any]:
    return {
        "id": job_id,
        "status": status,
        "tenant": tenant,
        "model": model,
        "created_at": repr(now),
        "request": json.dumps(request, separators=(",", ":")),
        "attempts": 0,
    }


# What an ended job drops, and what it keeps as fields of its own (the rest goes into ``record``):
# the same lists as scripts.py's ``settle``, which applies them when a job ends.
LIVE_ONLY = frozenset({"id", "queue_score", "deadline_at", "requeued_at", "cancel_requested", "events_ttl", "followers", "webhook_ttl"})
TOP = ("status", "tenant", "cache_ticket", "owner_cancelled", "follows")


def unpacked(fields: dict[str, Any]) -> dict[str, Any]:
    """A job hash as stored -> its flat fields. An ended job keeps status, tenant and the like as
    fields and everything else in one compact JSON field, ``record`` (scripts.py's ``settle``)."""
    if "record" not in fields:
        return fields
    return {**json.loads(fields["record"]), **{name: value for name, value in fields.items() if name != "record"}}


def settled(fields: dict[str, Any]) -> dict[str, str]:
    """An ended job's hash, as ``settle`` leaves it: the same layout for a job stored already ended."""
    top = {name: fields[name] for name in TOP if name in fields}
    record = {name: str(value) for name, value in fields.items() if name not in top and name not in LIVE_ONLY}
    return {**top, "record": json.dumps(record, separators=(",", ":"))}


def view(fields: dict[str, Any], *, queue_rank: int | None, detached: bool = False, webhook_event: dict | None = None) -> dict[str, Any]:
    """The record clients see: typed values, no internal fields; with its webhook's delivery state."""
    if detached:  # its client cancelled it; it goes on only for the jobs that coalesced onto it
        fields = {**fields, "status": JobStatus.CANCELLED.value, "finish_reason": "cancelled", "output": None, "usage": None}
    status = fields["status"]
    view: dict[str, Any] = {
        "id": fields["id"],
        "object": "job",
        "status": status,
        "model": fields.get("model"),
        **{name: float(fields[name]) if fields.get(name) else None for name in TIME_FIELDS},
        "request": json.loads(fields["request"]),
        "output": fields.get("output"),
        "finish_reason": fields.get("finish_reason"),
        "usage": json.loads(fields["usage"]) if fields.get("usage") else None,
        "timings": json.loads(fields["timings"]) if fields.get("timings") else None,
        "error": json.loads(fields["error"]) if fields.get("error") else None,
        "attempts": int(fields.get("attempts", 0)),
        "cached": bool(fields.get("cache")),
        "worker": fields.get("worker"),  # the worker running it, or that ran it last (None: answered without one)
    }
    if fields.get("cache"):
        view["cache"] = json.loads(fields["cache"])
    if fields.get("cache_mode"):
        view["cache_mode"] = fields["cache_mode"]
    if fields.get("follows"):
        view["coalesced_with"] = fields["follows"]
    if fields.get("batch_id"):
        view["batch_id"] = fields["batch_id"]
    if fields.get("webhook"):
        view["webhook"] = delivery_view(fields["webhook"], webhook_event)
    if status == JobStatus.QUEUED:
        view["queue_position"] = queue_rank + 1 if queue_rank is not None else None
    return view
