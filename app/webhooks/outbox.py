"""Webhook events in Redis: one hash per event, a sorted set of the events due for an attempt, the failed ones.

An event is written by the same Lua step that ends its job or batch (``ENQUEUE_LUA`` is included in those
scripts), so it exists exactly when the end does. Its hash keeps what every attempt needs: the URL, the
tenant (whose secret signs it), the body once built (the same bytes on every retry) and each attempt's
outcome. ``dispatch`` counts the hand-overs to a task: a task that finds a newer one leaves the event to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from app.webhooks.events import subject_of

# A Lua function for the scripts that end jobs and batches: write the event once (a redelivered end writes nothing).
ENQUEUE_LUA = """
local function enqueue_webhook(prefix, id, event_type, url, tenant, at, ttl)
  local event = 'msg_' .. id
  local key = prefix .. ':webhook:' .. event
  if redis.call('EXISTS', key) == 1 then return end
  redis.call('HSET', key, 'type', event_type, 'tenant', tenant, 'url', url, 'at', at, 'state', 'pending', 'dispatch', 0, 'attempts', '[]')
  redis.call('EXPIRE', key, ttl)
  redis.call('ZADD', prefix .. ':webhooks:due', at, event)
end
"""

# ARGV: key prefix, id, type, url, tenant, at, ttl.
ENQUEUE = ENQUEUE_LUA + "enqueue_webhook(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])"

# KEYS: due zset. ARGV: event key prefix, now, lease (s), most events. Each due event is handed to one
# caller, with its new dispatch number, and comes due again after the lease unless its attempt is recorded.
CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local claimed = {}
for _, event in ipairs(due) do
  local key = ARGV[1] .. event
  if redis.call('HGET', key, 'state') == 'pending' then
    table.insert(claimed, event)
    table.insert(claimed, redis.call('HINCRBY', key, 'dispatch', 1))
    redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]), event)
  else
    redis.call('ZREM', KEYS[1], event)  -- ended, or expired with its job
  end
end
return claimed
"""

# KEYS: event, due zset, failed zset, the tenant's failed zset, stats hash. ARGV: event id, dispatch, attempt
# (JSON), outcome (delivered | retry | failed), next attempt time, now, latency bucket ('' unless delivered),
# latency, how long failed events are listed. Returns the event's state after it, or 'ended' when it had already ended.
RECORD = """
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 'ended' end
local attempts = cjson.decode(redis.call('HGET', KEYS[1], 'attempts') or '[]')
attempts[#attempts + 1] = cjson.decode(ARGV[3])
redis.call('HSET', KEYS[1], 'attempts', cjson.encode(attempts))
redis.call('HINCRBY', KEYS[5], ARGV[4], 1)
if ARGV[4] == 'delivered' then
  redis.call('HSET', KEYS[1], 'state', 'delivered', 'delivered_at', ARGV[6])
  redis.call('HDEL', KEYS[1], 'next_at')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[5], 'le:' .. ARGV[7], 1)
  redis.call('HINCRBYFLOAT', KEYS[5], 'latency_sum', ARGV[8])
  return 'delivered'
end
if ARGV[4] == 'failed' then
  redis.call('HSET', KEYS[1], 'state', 'failed')
  redis.call('HDEL', KEYS[1], 'next_at')
  redis.call('ZREM', KEYS[2], ARGV[1])
  for i = 3, 4 do
    redis.call('ZADD', KEYS[i], ARGV[6], ARGV[1])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', tonumber(ARGV[6]) - tonumber(ARGV[9]))  -- their records are gone
  end
  return 'failed'
end
if redis.call('HGET', KEYS[1], 'dispatch') == ARGV[2] then  -- else a newer hand-over is in flight: it schedules
  redis.call('HSET', KEYS[1], 'next_at', ARGV[5])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
return 'pending'
"""

# KEYS: event, due zset, failed zset, the tenant's failed zset. ARGV: event id, now. An ended event is tried again.
REDELIVER = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if state == 'pending' then return 'pending' end
redis.call('HSET', KEYS[1], 'state', 'pending', 'next_at', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 'pending'
"""

# Upper bounds (s) of the delivery latency histogram: from the job's or batch's end to a receiver's 2xx.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0, 36000.0, 86400.0)


def latency_bucket(seconds: float) -> str:
    return next((f"{bound:g}" for bound in LATENCY_BUCKETS if seconds <= bound), "+Inf")


@dataclass(frozen=True)
class Destination:
    """Where a job's or batch's end is announced, and how long its event is kept (its retries' horizon)."""

    url: str
    ttl_s: int


class Outbox:
    def __init__(self, client: redis.Redis, prefix: str, event_ttl_s: int = 86400) -> None:
        self.redis = client
        self.prefix = prefix
        self.event_ttl_s = event_ttl_s  # failed events stay listed as long as their records live
        self.due_key = f"{prefix}:webhooks:due"
        self.failed_key = f"{prefix}:webhooks:failed"
        self.stats_key = f"{prefix}:webhooks:stats"
        self._enqueue = client.register_script(ENQUEUE)
        self._claim = client.register_script(CLAIM)
        self._record = client.register_script(RECORD)
        self._redeliver = client.register_script(REDELIVER)

    def key(self, event_id: str) -> str:
        return f"{self.prefix}:webhook:{event_id}"

    def tenant_failed_key(self, tenant: str) -> str:
        return f"{self.failed_key}:{tenant}"

    def enqueue(self, pipe: redis.client.Pipeline, subject_id: str, event_type: str, url: str, tenant: str, at: float, ttl_s: int) -> None:
        """The event of a job that ends where no script ends it (answered from the cache), in that job's own transaction."""
        self._enqueue(args=[self.prefix, subject_id, event_type, url, tenant, repr(at), ttl_s], client=pipe)

    def claim_due(self, now: float, lease_s: float, limit: int = 200) -> list[tuple[str, int]]:
        flat = self._claim(keys=[self.due_key], args=[f"{self.prefix}:webhook:", repr(now), lease_s, limit])
        return [(flat[i], int(flat[i + 1])) for i in range(0, len(flat), 2)]

    def get(self, event_id: str) -> dict[str, Any] | None:
        return decoded(self.redis.hgetall(self.key(event_id)), event_id)

    def body(self, event_id: str, build: bytes) -> bytes:
        """The event's body: the one kept, or ``build`` kept now. Two tasks racing keep one."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.key(event_id), "payload", build)
            pipe.hget(self.key(event_id), "payload")
            return pipe.execute()[1].encode()

    def record(self, event: dict[str, Any], dispatch: int, attempt: dict[str, Any], outcome: str, *, next_at: float, now: float) -> str:
        latency = now - event["at"]
        keys = [self.key(event["id"]), self.due_key, self.failed_key, self.tenant_failed_key(event["tenant"]), self.stats_key]
        args = [event["id"], dispatch, json.dumps(attempt), outcome, repr(next_at), repr(now)]
        args += [latency_bucket(latency), repr(latency), self.event_ttl_s]
        return self._record(keys=keys, args=args)

    def redeliver(self, event_id: str, tenant: str, now: float) -> str:
        keys = [self.key(event_id), self.due_key, self.failed_key, self.tenant_failed_key(tenant)]
        return self._redeliver(keys=keys, args=[event_id, repr(now)])

    def failed(self, tenant: str | None, limit: int = 100) -> list[dict[str, Any]]:
        """The events given up on, newest first: one tenant's, or (None) everyone's for the operator."""
        ids = self.redis.zrevrange(self.failed_key if tenant is None else self.tenant_failed_key(tenant), 0, limit - 1)
        with self.redis.pipeline(transaction=False) as pipe:
            for event_id in ids:
                pipe.hgetall(self.key(event_id))
            found = [decoded(fields, event_id) for event_id, fields in zip(ids, pipe.execute(), strict=True)]
        return [event for event in found if event is not None and event["state"] == "failed"]

    def stats(self) -> dict[str, float]:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.stats_key)
            pipe.zcard(self.due_key)
            pipe.zcard(self.failed_key)
            stats, due, failed = pipe.execute()
        return {**{name: float(value) for name, value in stats.items()}, "pending": due, "failed_now": failed}


def decoded(fields: dict[str, str], event_id: str) -> dict[str, Any] | None:
    if not fields or "state" not in fields:
        return None
    return {
        **fields,
        "id": event_id,
        "subject_id": subject_of(event_id),
        "at": float(fields["at"]),
        "dispatch": int(fields.get("dispatch") or 0),
        "attempts": json.loads(fields.get("attempts") or "[]"),
    }


def delivery_view(url: str, event: dict[str, Any] | None) -> dict[str, Any]:
    """A job's or batch's ``webhook``: where it goes, and how its event fared (``waiting`` until it ends)."""
    if event is None:
        return {"url": url, "status": "waiting", "attempts": []}
    view: dict[str, Any] = {"url": event["url"], "id": event["id"], "type": event["type"], "status": event["state"]}
    view["attempts"] = event["attempts"]
    if event.get("next_at"):
        view["next_attempt_at"] = float(event["next_at"])
    if event.get("delivered_at"):
        view["delivered_at"] = float(event["delivered_at"])
    return view
