"""Cached answers in Redis, shared by every API process and written by the workers.

Keys (under ``<prefix>:cache:``):
- ``e:<n>``     a hash per entry: namespace, exact key, compared text, answer, vector.
- ``x:<exact>`` the entry number for an exact key.
- ``ns:<ns>``   a sorted set of a namespace's entry numbers by insertion time: the bound.
- ``log``       a Stream of index changes (add with its vector, del, embed), which every API
                process tails to keep its in-memory vector index in step.
- ``inflight:<exact>`` the job now computing that exact request (coalescing).
Every key expires (TTL), the log is capped, and inserting evicts a namespace's
oldest entries beyond its bound, all in one Lua script so the keys always agree.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis

from cache.embedder import DIMENSIONS

LOG_MAXLEN = 1_000_000  # index changes kept for processes that fall behind (approximate trim)

# KEYS: seq, exact key, namespace zset, log. ARGV: ttl, max entries, ns, exact, now, text, answer,
# vector (base64, '' for none), log maxlen, entry key prefix, exact key prefix, '1' if an API
# process should embed the text later (the request skipped its embedding: see ResultCache.lookup).
_INSERT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl = tonumber(ARGV[1])
local n = redis.call('INCR', KEYS[1])
local entry = ARGV[10] .. n
redis.call('HSET', entry, 'ns', ARGV[3], 'exact', ARGV[4], 'created_at', ARGV[5], 'text', ARGV[6], 'answer', ARGV[7], 'vector', ARGV[8])
redis.call('EXPIRE', entry, ttl)
redis.call('SET', KEYS[2], n, 'EX', ttl)
redis.call('ZADD', KEYS[3], ARGV[5], n)
redis.call('EXPIRE', KEYS[3], ttl)
if ARGV[8] ~= '' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], '*', 'op', 'add', 'ns', ARGV[3], 'n', n, 'v', ARGV[8])
elseif ARGV[12] == '1' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], '*', 'op', 'embed', 'ns', ARGV[3], 'n', n)
end
local victims = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. (tonumber(ARGV[5]) - ttl))
local excess = redis.call('ZCARD', KEYS[3]) - #victims - tonumber(ARGV[2])
if excess > 0 then
  for _, v in ipairs(redis.call('ZRANGE', KEYS[3], #victims, #victims + excess - 1)) do table.insert(victims, v) end
end
for _, v in ipairs(victims) do
  local exact = redis.call('HGET', ARGV[10] .. v, 'exact')
  if exact and redis.call('GET', ARGV[11] .. exact) == v then redis.call('DEL', ARGV[11] .. exact) end
  redis.call('DEL', ARGV[10] .. v)
  redis.call('ZREM', KEYS[3], v)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], '*', 'op', 'del', 'ns', ARGV[3], 'n', v)
end
return n
"""

# KEYS: exact key. ARGV: entry key prefix. One round trip for an exact lookup.
_GET_EXACT = """
local n = redis.call('GET', KEYS[1])
if not n then return nil end
return {n, redis.call('HGETALL', ARGV[1] .. n)}
"""

# KEYS: entry. ARGV: claimant. The text of an entry still waiting for its vector, to one claimant only
# (every API process reads the same `embed` change; one of them embeds it).
_CLAIM_EMBEDDING = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'vector') ~= '' then return false end
if redis.call('HSETNX', KEYS[1], 'vclaim', ARGV[1]) == 0 then return false end
return redis.call('HGET', KEYS[1], 'text')
"""

# KEYS: entry, log. ARGV: namespace, number, vector, log maxlen. Unless the entry went meanwhile.
_SET_VECTOR = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'vector', ARGV[3])
redis.call('HDEL', KEYS[1], 'vclaim')
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'op', 'add', 'ns', ARGV[1], 'n', ARGV[2], 'v', ARGV[3])
return 1
"""


@dataclass(frozen=True)
class Entry:
    number: int
    namespace: str
    text: str
    answer: dict[str, Any]  # output, finish_reason, completion_tokens, token_ids


class CorruptEntry(ValueError):
    pass


def encode_vector(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode()


def decode_vector(text: str) -> np.ndarray:
    vector = np.frombuffer(base64.b64decode(text, validate=True), dtype=np.float32)
    if vector.shape != (DIMENSIONS,) or not np.isfinite(vector).all():
        raise CorruptEntry(f"a vector of shape {vector.shape}")
    return vector


class CacheStore:
    def __init__(self, client: redis.Redis, prefix: str, *, ttl_s: int, max_entries: int) -> None:
        self.redis = client
        self.base = f"{prefix}:cache:"
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.log_key = self.base + "log"
        self._insert = client.register_script(_INSERT)
        self._get_exact = client.register_script(_GET_EXACT)
        self._claim_embedding = client.register_script(_CLAIM_EMBEDDING)
        self._set_vector = client.register_script(_SET_VECTOR)

    def entry_key(self, number: int | str) -> str:
        return f"{self.base}e:{number}"

    def exact_key(self, exact: str) -> str:
        return f"{self.base}x:{exact}"

    def namespace_key(self, namespace: str) -> str:
        return f"{self.base}ns:{namespace}"

    def inflight_key(self, exact: str) -> str:
        return f"{self.base}inflight:{exact}"

    def insert(
        self, *, namespace: str, exact: str, text: str, answer: dict[str, Any], vector: str | None, embed_later: bool = False
    ) -> int:
        """Store an answer; returns its entry number (0 when the exact key was already cached).
        ``embed_later``: without a vector, ask the API processes to embed ``text`` (an ``embed`` change)."""
        return int(
            self._insert(
                keys=[self.base + "seq", self.exact_key(exact), self.namespace_key(namespace), self.log_key],
                args=[
                    self.ttl_s,
                    self.max_entries,
                    namespace,
                    exact,
                    repr(time.time()),
                    text,
                    json.dumps(answer, separators=(",", ":")),
                    vector or "",
                    LOG_MAXLEN,
                    self.base + "e:",
                    self.base + "x:",
                    "1" if embed_later and not vector else "0",
                ],
            )
        )

    def claim_embeddings(self, numbers: list[int], claimant: str) -> list[str | None]:
        """For each entry, its text if it still waits for its vector and nobody else took it (one round trip)."""
        with self.redis.pipeline(transaction=False) as pipe:
            for number in numbers:
                self._claim_embedding(keys=[self.entry_key(number)], args=[claimant], client=pipe)
            return pipe.execute()

    def set_vector(self, namespace: str, number: int, vector: str) -> bool:
        """Give a late entry its vector and tell every process's index (False if the entry is gone)."""
        return bool(self._set_vector(keys=[self.entry_key(number), self.log_key], args=[namespace, number, vector, LOG_MAXLEN]))

    def get_exact(self, exact: str) -> Entry | None:
        reply = self._get_exact(keys=[self.exact_key(exact)], args=[self.base + "e:"])
        if not reply:
            return None
        number, flat = reply
        return self._parse(int(number), dict(zip(flat[::2], flat[1::2], strict=True)))

    def alias_exact(self, exact: str, number: int) -> None:
        """Let a request that hit semantically find the same entry by its own exact key next time
        (no embedding). If the entry goes first, the alias finds nothing and expires with its TTL."""
        self.redis.set(self.exact_key(exact), number, ex=self.ttl_s, nx=True)

    def get_many(self, numbers: list[int]) -> list[Entry | None]:
        with self.redis.pipeline(transaction=False) as pipe:
            for number in numbers:
                pipe.hgetall(self.entry_key(number))
            replies = pipe.execute()
        return [self._parse(number, fields) for number, fields in zip(numbers, replies, strict=True)]

    def _parse(self, number: int, fields: dict[str, str]) -> Entry | None:
        """The entry, or None if it expired; a corrupt one is deleted and treated as absent."""
        if not fields:
            return None
        try:
            answer = json.loads(fields["answer"])
            if not isinstance(answer, dict) or not isinstance(answer.get("output"), str):
                raise CorruptEntry("an answer without output")
            return Entry(number=number, namespace=fields["ns"], text=fields["text"], answer=answer)
        except (KeyError, ValueError):
            self.delete(number, fields)
            return None

    def delete(self, number: int, fields: dict[str, str] | None = None) -> None:
        fields = fields if fields is not None else self.redis.hgetall(self.entry_key(number))
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.entry_key(number))
            if fields.get("exact"):
                pipe.delete(self.exact_key(fields["exact"]))
            if fields.get("ns"):
                pipe.zrem(self.namespace_key(fields["ns"]), number)
                pipe.xadd(self.log_key, {"op": "del", "ns": fields["ns"], "n": number}, maxlen=LOG_MAXLEN, approximate=True)
            pipe.execute()

    # --- coalescing ---

    def claim_inflight(self, exact: str, job_id: str, ttl_s: int) -> str | None:
        """Mark ``job_id`` as computing ``exact``; returns the job already doing so, if any."""
        if self.redis.set(self.inflight_key(exact), job_id, nx=True, ex=ttl_s):
            return None
        return self.redis.get(self.inflight_key(exact))

    def take_over_inflight(self, exact: str, job_id: str, ttl_s: int) -> None:
        self.redis.set(self.inflight_key(exact), job_id, ex=ttl_s)

    def release_inflight(self, exact: str, job_id: str) -> None:
        """Forget the in-flight mark if it is still this job's (compare and delete, atomically)."""
        self.redis.eval(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
            1,
            self.inflight_key(exact),
            job_id,
        )
