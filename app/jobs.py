"""Job records in Redis: one hash per job plus a sorted set that orders the queue.

State changes that must not race (a redelivered task against its first run, a
late finish against a cancel) run as Lua scripts, so each is one atomic step.
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

from app.redis_conn import Keys


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

# KEYS: job hash, queued zset, worker key prefix. ARGV: job id, now, worker id.
# Returns {"started", request, created_at}, or {why the job must not run}.
_START = """
local status = redis.call('HGET', KEYS[1], 'status')
redis.call('ZREM', KEYS[2], ARGV[1])
if not status then return {'missing'} end
if status == 'running' then
  local owner = redis.call('HGET', KEYS[1], 'worker')
  if owner and owner ~= ARGV[3] and redis.call('EXISTS', KEYS[3] .. owner) == 1 then
    return {'running_elsewhere'}
  end
elseif status ~= 'queued' then
  return {status}
end
-- A redelivered job (its worker died) starts over: drop what the dead attempt wrote.
redis.call('HDEL', KEYS[1], 'output', 'finish_reason', 'usage', 'timings', 'error')
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[2], 'worker', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return {'started', redis.call('HGET', KEYS[1], 'request'), redis.call('HGET', KEYS[1], 'created_at')}
"""

# KEYS: job hash. ARGV: ttl, worker id, field, value, ... Only the running owner may finish.
_FINISH = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

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
        self._start = client.register_script(_START)
        self._finish = client.register_script(_FINISH)

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
        reply = self._start(keys=[self.keys.job(job_id), self.keys.queued, self.keys.worker("")], args=[job_id, repr(now), worker_id])
        if reply[0] != "started":
            return Claim(outcome=reply[0])
        try:
            request = json.loads(reply[1])
        except (TypeError, ValueError):
            request = {"invalid": reply[1]}  # let the runner fail the job with a clear error
        return Claim(outcome="started", request=request, created_at=float(reply[2] or now), started_at=now)

    def succeed(self, job_id: str, worker_id: str, *, output: str, finish_reason: str, usage: dict[str, int], timings: dict[str, float]) -> bool:
        return self._end(job_id, worker_id, JobStatus.SUCCEEDED, output=output, finish_reason=finish_reason, usage=usage, timings=timings)

    def fail(self, job_id: str, worker_id: str, *, error: dict[str, str], timings: dict[str, float]) -> bool:
        return self._end(job_id, worker_id, JobStatus.FAILED, error=error, timings=timings)

    def _end(self, job_id: str, worker_id: str, status: JobStatus, **fields: Any) -> bool:
        values: list[Any] = ["status", status.value, "finished_at", repr(time.time())]
        for name, value in fields.items():
            values += [name, json.dumps(value) if name in _JSON_FIELDS else value]
        return bool(self._finish(keys=[self.keys.job(job_id)], args=[self.ttl_s, worker_id, *values]))


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
