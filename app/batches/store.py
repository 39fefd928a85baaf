"""Batch records in Redis: one hash per batch, the lines it has in flight, the parts of output it has
written, and the indexes for listing and for the runner.

Every change that must not race is one Lua step. The runner holds a batch's lock (``SET NX PX``,
renewed each round) while it works on it, and every write of the runner names its lock token and the
cursor it read, so a runner that lost its lock (paused past the lock's expiry) can write nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis

from app.batches.record import STAMPS, TERMINAL, BatchStatus, view
from app.errors import OverloadedError
from app.webhooks.events import event_id
from app.webhooks.outbox import ENQUEUE_LUA, Outbox, decoded

BATCH_LIMIT_RETRY_S = 60  # a batch takes minutes to hours: try again in a minute

# KEYS: batch, tenant's batches zset, active set, tenant's active set, input file's batches set.
# ARGV: the tenant's cap on active batches (0: none), id, created_at, field, value, ... 1 stored, 0 over the cap.
CREATE = """
if tonumber(ARGV[1]) > 0 and redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[2])
return 1
"""

# KEYS: batch, active set, tenant's active set, input file's batches set, lock.
# ARGV: lock token ('' : no lock needed), allowed statuses (comma list), new status, its stamp field, now, terminal ('1'),
# field, value, ... Returns 1 moved, 0 not in an allowed status (or the lock is not ours).
MOVE = (
    ENQUEUE_LUA
    + """
if ARGV[1] ~= '' and redis.call('GET', KEYS[5]) ~= ARGV[1] then return 0 end
local status = redis.call('HGET', KEYS[1], 'status')
if not status or not string.find(',' .. ARGV[2] .. ',', ',' .. status .. ',', 1, true) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], ARGV[4], ARGV[5]) end
if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
if ARGV[6] == '1' then
  local id = redis.call('HGET', KEYS[1], 'id')
  redis.call('SREM', KEYS[2], id)
  redis.call('SREM', KEYS[3], id)
  redis.call('SREM', KEYS[4], id)
  local hook = redis.call('HGET', KEYS[1], 'webhook')  -- its webhook's event, in the same step (app/webhooks/outbox.py)
  if hook then
    enqueue_webhook(string.match(KEYS[1], '^(.*):batch:[^:]*$'), id, 'batch.' .. ARGV[3], hook, redis.call('HGET', KEYS[1], 'tenant') or '',
      ARGV[5], redis.call('HGET', KEYS[1], 'webhook_ttl') or '86400')
  end
end
return 1
"""
)

# KEYS: batch, window, lock. ARGV: token, the next_line read, new next_line, new next_offset, line, entry, ...
FEED = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'next_line') ~= ARGV[2] then return 0 end
if #ARGV > 4 then redis.call('HSET', KEYS[2], unpack(ARGV, 5)) end
redis.call('HSET', KEYS[1], 'next_line', ARGV[3], 'next_offset', ARGV[4])
return 1
"""

# KEYS: batch, window, parts list, lock. ARGV: token, parts count read, part name, completed, failed,
# prompt tokens, completion tokens, line, ... The lines leave the window, their part joins the list.
COMMIT = """
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return 0 end
if redis.call('LLEN', KEYS[3]) ~= tonumber(ARGV[2]) then return 0 end
for i = 8, #ARGV do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then return 0 end
end
for i = 8, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'completed', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'failed', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'prompt_tokens', ARGV[6])
redis.call('HINCRBY', KEYS[1], 'completion_tokens', ARGV[7])
return 1
"""

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Lock:
    batch_id: str
    token: str


class BatchStore:
    def __init__(self, client: redis.Redis, prefix: str, ttl_s: int, lock_ttl_s: float = 10.0) -> None:
        self.redis = client
        self.prefix = prefix
        self.ttl_s = ttl_s  # an ended batch's record and its indexes' entries
        self.lock_ttl_ms = int(lock_ttl_s * 1000)
        self._create = client.register_script(CREATE)
        self._move = client.register_script(MOVE)
        self._feed = client.register_script(FEED)
        self._commit = client.register_script(COMMIT)
        self._renew = client.register_script(RENEW)
        self._release = client.register_script(RELEASE)
        self.outbox = Outbox(client, prefix)

    # --- keys ---
    def key(self, batch_id: str) -> str:
        return f"{self.prefix}:batch:{batch_id}"

    def window_key(self, batch_id: str) -> str:
        return f"{self.prefix}:batch:{batch_id}:window"

    def parts_key(self, batch_id: str) -> str:
        return f"{self.prefix}:batch:{batch_id}:parts"

    def lock_key(self, batch_id: str) -> str:
        return f"{self.prefix}:batch:{batch_id}:lock"

    def tenant_key(self, tenant: str) -> str:
        return f"{self.prefix}:batches:{tenant}"

    def tenant_active_key(self, tenant: str) -> str:
        return f"{self.prefix}:batches:active:{tenant}"

    @property
    def active_key(self) -> str:
        return f"{self.prefix}:batches:active"

    # --- the API's side ---
    def create(self, fields: dict[str, Any], *, file_users_key: str, max_active: int) -> dict[str, Any]:
        """Store a new batch (``validating``); raise :class:`OverloadedError` past the tenant's cap."""
        tenant, batch_id = fields["tenant"], fields["id"]
        flat = [str(item) for pair in fields.items() for item in pair]
        keys = [self.key(batch_id), self.tenant_key(tenant), self.active_key, self.tenant_active_key(tenant), file_users_key]
        if not self._create(keys=keys, args=[max_active, batch_id, fields["created_at"], *flat]):
            message = f"this tenant already has {max_active} batches that have not ended (LLMJOBS_TENANT_MAX_BATCHES)"
            raise OverloadedError("batch_limit", message, BATCH_LIMIT_RETRY_S)
        return view({k: str(v) for k, v in fields.items()})

    def fields(self, batch_id: str) -> dict[str, str]:
        return self.redis.hgetall(self.key(batch_id))

    def get(self, batch_id: str, tenant: str | None = None) -> dict[str, Any] | None:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.key(batch_id))
            pipe.hgetall(self.outbox.key(event_id(batch_id)))
            fields, event = pipe.execute()
        if not fields or (tenant is not None and fields.get("tenant") != tenant):
            return None
        return view(fields, decoded(event, event_id(batch_id)))

    def list(self, tenant: str, *, limit: int, after: str | None) -> tuple[list[dict[str, Any]], bool]:
        """The tenant's batches, newest first, after the batch ``after``; and whether more follow."""
        key, start = self.tenant_key(tenant), 0
        if after is not None:
            rank = self.redis.zrevrank(key, after)
            if rank is None:
                return [], False
            start = rank + 1
        ids = self.redis.zrevrange(key, start, start + limit)
        found = [(batch_id, self.get(batch_id)) for batch_id in ids[:limit]]
        gone = [batch_id for batch_id, batch in found if batch is None]
        if gone:  # ended batches whose record expired leave the index as they are met
            self.redis.zrem(key, *gone)
        return [batch for _, batch in found if batch is not None], len(ids) > limit

    def request_cancel(self, batch_id: str) -> bool:
        """``validating`` or ``in_progress`` -> ``cancelling`` (the runner then stops its lines); False otherwise."""
        return self.move(batch_id, None, (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS), BatchStatus.CANCELLING)

    def load(self) -> dict[str, int]:
        """For /metrics: active batches, their lines not yet fed (the batch queue depth) and lines in flight."""
        ids = self.active()
        with self.redis.pipeline(transaction=False) as pipe:
            for batch_id in ids:
                pipe.hmget(self.key(batch_id), "total", "completed", "failed")
                pipe.hlen(self.window_key(batch_id))
            replies = pipe.execute()
        waiting = in_flight = 0
        for (total, completed, failed), window in zip(replies[::2], replies[1::2], strict=True):
            in_flight += window
            waiting += max(0, int(total or 0) - int(completed or 0) - int(failed or 0) - window)
        return {"batches_active": len(ids), "batch_lines_waiting": waiting, "batch_lines_in_flight": in_flight}

    # --- the runner's side ---
    def active(self) -> list[str]:
        return sorted(self.redis.smembers(self.active_key))

    def lock(self, batch_id: str) -> Lock | None:
        token = uuid.uuid4().hex
        return Lock(batch_id, token) if self.redis.set(self.lock_key(batch_id), token, nx=True, px=self.lock_ttl_ms) else None

    def renew(self, lock: Lock) -> bool:
        return bool(self._renew(keys=[self.lock_key(lock.batch_id)], args=[lock.token, self.lock_ttl_ms]))

    def release(self, lock: Lock) -> None:
        self._release(keys=[self.lock_key(lock.batch_id)], args=[lock.token])

    def move(self, batch_id: str, lock: Lock | None, allowed: tuple[str, ...], to: BatchStatus, **fields: Any) -> bool:
        """Change the status from one of ``allowed`` to ``to`` (stamping its time), with ``fields``; an ended
        batch leaves the active indexes and its keys get their time to live."""
        record = self.fields(batch_id)
        if not record:
            return False
        terminal = to in TERMINAL
        keys = [self.key(batch_id), self.active_key, self.tenant_active_key(record["tenant"]),
                f"{self.prefix}:file:{record['input_file_id']}:batches", self.lock_key(batch_id)]  # fmt: skip
        flat = [str(item) for pair in fields.items() for item in pair]
        args = [lock.token if lock else "", ",".join(allowed), to.value, STAMPS.get(to, ""), repr(time.time()), "1" if terminal else "0"]
        moved = bool(self._move(keys=keys, args=[*args, *flat]))
        if moved and terminal:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.expire(self.key(batch_id), self.ttl_s)
                pipe.delete(self.window_key(batch_id), self.parts_key(batch_id))
                pipe.execute()
        return moved

    def set_fields(self, batch_id: str, **fields: Any) -> None:
        self.redis.hset(self.key(batch_id), mapping={k: str(v) for k, v in fields.items()})

    def window(self, batch_id: str) -> dict[int, dict[str, Any]]:
        return {int(line): json.loads(entry) for line, entry in self.redis.hgetall(self.window_key(batch_id)).items()}

    def feed(self, lock: Lock, read_line: int, next_line: int, next_offset: int, entries: dict[int, dict[str, Any]]) -> bool:
        flat = [item for line, entry in entries.items() for item in (line, json.dumps(entry, separators=(",", ":")))]
        keys = [self.key(lock.batch_id), self.window_key(lock.batch_id), self.lock_key(lock.batch_id)]
        return bool(self._feed(keys=keys, args=[lock.token, read_line, next_line, next_offset, *flat]))

    def parts(self, batch_id: str) -> list[str]:
        return self.redis.lrange(self.parts_key(batch_id), 0, -1)

    def commit(self, lock: Lock, parts_read: int, part: str, lines: list[int], counts: dict[str, int]) -> bool:
        """The lines of ``part`` (written to the file store) leave the window; the counts grow by theirs."""
        keys = [self.key(lock.batch_id), self.window_key(lock.batch_id), self.parts_key(lock.batch_id), self.lock_key(lock.batch_id)]
        names = ("completed", "failed", "prompt_tokens", "completion_tokens")
        args = [lock.token, parts_read, part, *(counts.get(name, 0) for name in names)]
        return bool(self._commit(keys=keys, args=[*args, *lines]))
