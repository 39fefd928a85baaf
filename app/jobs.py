"""Job records in Redis: one hash per job plus a sorted set that orders the queue.

State changes that must not race (a redelivered task against its first run, a
late finish against a cancel) run as Lua scripts (app/job_scripts.py), so each
is one atomic step that also writes the job's final event.
A poll is one round trip: HGETALL and ZRANK in a pipeline.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis

from app import job_scripts
from app.events import encode, final_event
from app.redis_conn import Keys


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

_JSON_FIELDS = ("request", "usage", "timings", "error")
_TIME_FIELDS = ("created_at", "started_at", "finished_at")


@dataclass(frozen=True)
class Claim:
    outcome: str  # "started", or why not: "missing", "running_elsewhere", a terminal status
    request: dict[str, Any] | None = None
    created_at: float = 0.0
    started_at: float = 0.0


def new_job_id() -> str:
    return str(uuid.uuid4())


def is_job_id(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


class JobStore:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_s: int) -> None:
        self.redis = client
        self.keys = keys
        self.ttl_s = ttl_s
        self._start = client.register_script(job_scripts.START)
        self._finish = client.register_script(job_scripts.FINISH)
        self._cancel = client.register_script(job_scripts.CANCEL)

    def create(self, request: dict[str, Any], *, tenant: str, model: str, job_id: str | None = None) -> dict[str, Any]:
        """Store a new queued job and return its record."""
        job_id = job_id or new_job_id()
        now = time.time()
        fields = {
            "id": job_id,
            "status": JobStatus.QUEUED.value,
            "tenant": tenant,
            "model": model,
            "created_at": repr(now),
            "request": json.dumps(request, separators=(",", ":")),
            "attempts": 0,
        }
        key = self.keys.job(job_id)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.ttl_s)
            pipe.zadd(self.keys.queued, {job_id: now})
            pipe.execute()
        return _view(fields, queue_rank=None)

    def discard(self, job_id: str) -> None:
        """Remove a job whose enqueueing failed, so no record promises work that never comes."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.job(job_id))
            pipe.zrem(self.keys.queued, job_id)
            pipe.execute()

    def get(self, job_id: str, *, tenant: str | None = None) -> dict[str, Any] | None:
        """The job's public record, or None if unknown (or another tenant's)."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.job(job_id))
            pipe.zrank(self.keys.queued, job_id)
            fields, rank = pipe.execute()
        if not fields or (tenant is not None and fields.get("tenant", "") != tenant):
            return None
        return _view(fields, queue_rank=rank)

    def start(self, job_id: str, worker_id: str) -> Claim:
        """Claim a job for running; ``Claim.request`` is None when it must not run."""
        now = time.time()
        reply = self._start(
            keys=[self.keys.job(job_id), self.keys.queued, self.keys.worker(""), self.keys.events(job_id)],
            args=[job_id, repr(now), worker_id, self.ttl_s, encode(_cancelled_event())],
        )
        if reply[0] != "started":
            return Claim(outcome=reply[0])
        try:
            request = json.loads(reply[1])
        except (TypeError, ValueError):
            request = {"invalid": reply[1]}  # let the runner fail the job with a clear error
        return Claim(outcome="started", request=request, created_at=float(reply[2] or now), started_at=now)

    def finish(
        self,
        job_id: str,
        worker_id: str,
        status: JobStatus,
        *,
        output: str | None = None,
        finish_reason: str | None = None,
        usage: dict[str, int] | None = None,
        timings: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
        last_event: dict[str, Any] | None = None,
    ) -> bool:
        """End a running job: record, optional last token event and final event, atomically."""
        assert status in TERMINAL, status
        fields: dict[str, Any] = {"status": status.value, "finished_at": repr(time.time())}
        for name, value in (("output", output), ("finish_reason", finish_reason), ("usage", usage), ("timings", timings), ("error", error)):
            if value is not None:
                fields[name] = json.dumps(value) if name in _JSON_FIELDS else value
        final = final_event(status=status.value, finish_reason=finish_reason, output=output, usage=usage, timings=timings, error=error)
        flat = [item for pair in fields.items() for item in pair]
        return bool(
            self._finish(
                keys=[self.keys.job(job_id), self.keys.events(job_id)],
                args=[self.ttl_s, worker_id, encode(last_event) if last_event else "", encode(final), *flat],
            )
        )

    def cancel(self, job_id: str) -> str:
        """Cancel a job: "dequeued" (it was waiting: now cancelled), "cancelling" (its worker is told), or its terminal status."""
        return self._cancel(
            keys=[self.keys.job(job_id), self.keys.queued, self.keys.events(job_id)],
            args=[job_id, repr(time.time()), self.ttl_s, encode(_cancelled_event()), self.keys.cancel_channel],
        )

    def is_cancel_requested(self, job_id: str) -> bool:
        return self.redis.hget(self.keys.job(job_id), "cancel_requested") == "1"


def _cancelled_event() -> dict[str, Any]:
    return final_event(status=JobStatus.CANCELLED.value, finish_reason="cancelled", output="", usage=None, timings=None, error=None)


def _view(fields: dict[str, Any], *, queue_rank: int | None) -> dict[str, Any]:
    """The record clients see: typed values, no internal fields."""
    status = fields["status"]
    view: dict[str, Any] = {
        "id": fields["id"],
        "object": "job",
        "status": status,
        "model": fields.get("model"),
        **{name: float(fields[name]) if fields.get(name) else None for name in _TIME_FIELDS},
        "request": json.loads(fields["request"]),
        "output": fields.get("output"),
        "finish_reason": fields.get("finish_reason"),
        "usage": json.loads(fields["usage"]) if fields.get("usage") else None,
        "timings": json.loads(fields["timings"]) if fields.get("timings") else None,
        "error": json.loads(fields["error"]) if fields.get("error") else None,
        "attempts": int(fields.get("attempts", 0)),
    }
    if status == JobStatus.QUEUED:
        view["queue_position"] = queue_rank + 1 if queue_rank is not None else None
    return view
