"""Uploaded and generated files: their metadata in Redis, their bytes in a :class:`FileStore`.

One hash per file, one sorted set per tenant (newest first for listing, paged by id), one counter of
the tenant's stored bytes (the quota is checked and taken in the same Lua step that stores the file),
and one sorted set of expiry times that the sweeper reads to delete expired files with their data.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis

from app.batches.file_store import FileStore
from app.errors import ConflictError, TooLargeError

PURPOSES = ("batch", "batch_output")
DEFAULT_EXPIRES_S = 30 * 86400  # OpenAI's default for batch files
MAX_FILE_BYTES = 200 * 1024 * 1024  # OpenAI's limits for a batch input file
MAX_FILE_LINES = 50_000

# KEYS: file hash, tenant's files zset, tenant's bytes counter, expiry zset. ARGV: byte cap (0: none),
# size, id, created_at, expires_at, field, value, ... Returns 1 stored, 2 already there (a batch's
# output file written twice), 0 over the cap.
ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
local size = tonumber(ARGV[2])
if tonumber(ARGV[1]) > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') + size > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('INCRBY', KEYS[3], size)
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
return 1
"""

# KEYS: file hash, tenant's files zset, tenant's bytes counter, expiry zset, the file's active batches.
# ARGV: id. Returns 1 deleted, 0 missing, -1 an active batch reads it.
DELETE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SCARD', KEYS[5]) > 0 then return -1 end
local size = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
if tonumber(redis.call('GET', KEYS[3]) or '0') <= size then redis.call('DEL', KEYS[3]) else redis.call('DECRBY', KEYS[3], size) end
redis.call('DEL', KEYS[1], KEYS[5])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
"""


def new_file_id() -> str:
    return f"file-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class StoredFile:
    id: str
    tenant: str
    bytes: int
    created_at: int
    expires_at: int | None
    filename: str
    purpose: str
    lines: int

    def view(self) -> dict[str, Any]:
        """OpenAI's file object."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


class FileRegistry:
    def __init__(self, client: redis.Redis, prefix: str, store: FileStore, max_tenant_bytes: int = 0) -> None:
        self.redis = client
        self.prefix = prefix
        self.store = store
        self.max_tenant_bytes = max_tenant_bytes  # 0: no cap
        self._add = client.register_script(ADD)
        self._delete = client.register_script(DELETE)

    def _key(self, file_id: str) -> str:
        return f"{self.prefix}:file:{file_id}"

    def _tenant_files(self, tenant: str) -> str:
        return f"{self.prefix}:files:{tenant}"

    def _tenant_bytes(self, tenant: str) -> str:
        return f"{self.prefix}:file_bytes:{tenant}"

    @property
    def _expiring(self) -> str:
        return f"{self.prefix}:files:expiring"

    def users_key(self, file_id: str) -> str:
        """The active batches reading this file (a file in use cannot be deleted)."""
        return f"{self.prefix}:file:{file_id}:batches"

    def register(self, file: StoredFile, *, quota: bool = True) -> bool:
        """Record a file whose bytes are stored under its id; False when it was recorded before.
        Raises :class:`TooLargeError` past the tenant's byte cap (the caller deletes the bytes)."""
        fields = {
            "tenant": file.tenant,
            "bytes": file.bytes,
            "created_at": file.created_at,
            "expires_at": file.expires_at or "",
            "filename": file.filename,
            "purpose": file.purpose,
            "lines": file.lines,
        }
        flat = [item for pair in fields.items() for item in pair]
        expires = file.expires_at if file.expires_at else "+inf"
        keys = [self._key(file.id), self._tenant_files(file.tenant), self._tenant_bytes(file.tenant), self._expiring]
        cap = self.max_tenant_bytes if quota else 0  # a batch's output is never refused: it was paid for by running it
        outcome = self._add(keys=keys, args=[cap, file.bytes, file.id, file.created_at, expires, *flat])
        if outcome == 0:
            message = f"this tenant's files would exceed LLMJOBS_TENANT_MAX_FILE_BYTES ({self.max_tenant_bytes} bytes)"
            raise TooLargeError("file", message, code="file_quota_exceeded")
        return outcome == 1

    def stored_bytes(self, tenant: str) -> int:
        return int(self.redis.get(self._tenant_bytes(tenant)) or 0)

    def get(self, file_id: str, tenant: str | None = None) -> StoredFile | None:
        """The file, or None if unknown or another tenant's (the two look the same)."""
        fields = self.redis.hgetall(self._key(file_id))
        if not fields or (tenant is not None and fields["tenant"] != tenant):
            return None
        return StoredFile(
            id=file_id,
            tenant=fields["tenant"],
            bytes=int(fields["bytes"]),
            created_at=int(fields["created_at"]),
            expires_at=int(fields["expires_at"]) if fields.get("expires_at") else None,
            filename=fields["filename"],
            purpose=fields["purpose"],
            lines=int(fields.get("lines") or 0),
        )

    def list(self, tenant: str, *, limit: int, after: str | None, order: str, purpose: str | None) -> tuple[list[StoredFile], bool]:
        """A page of the tenant's files (``order`` desc: newest first) after the file ``after``; and whether more follow."""
        key = self._tenant_files(tenant)
        start = 0
        if after is not None:
            rank = self.redis.zrevrank(key, after) if order == "desc" else self.redis.zrank(key, after)
            if rank is None:
                return [], False
            start = rank + 1
        found: list[StoredFile] = []
        while len(found) <= limit:
            ids = (self.redis.zrevrange if order == "desc" else self.redis.zrange)(key, start, start + limit)
            if not ids:
                break
            start += len(ids)
            files = [self.get(file_id) for file_id in ids]
            found += [f for f in files if f is not None and (purpose is None or f.purpose == purpose)]
        return found[:limit], len(found) > limit

    def delete(self, file_id: str, tenant: str) -> bool:
        """Delete a file and its bytes; False if unknown. Raises :class:`ConflictError` while an active batch reads it."""
        keys = [self._key(file_id), self._tenant_files(tenant), self._tenant_bytes(tenant), self._expiring, self.users_key(file_id)]
        outcome = self._delete(keys=keys, args=[file_id])
        if outcome == -1:
            raise ConflictError(f"file {file_id!r} is the input of a batch that has not ended; cancel the batch first")
        if outcome == 1:
            self.store.delete(file_id)  # after its record: at worst an orphan of bytes, never a record without bytes
        return outcome == 1

    def delete_expired(self, now: float | None = None, most: int = 100) -> int:
        """Delete up to ``most`` files whose time has passed (a sweeper chore)."""
        due = self.redis.zrangebyscore(self._expiring, "-inf", now or time.time(), start=0, num=most)
        deleted = 0
        for file_id in due:
            tenant = self.redis.hget(self._key(file_id), "tenant")
            if tenant is None:
                self.redis.zrem(self._expiring, file_id)
                continue
            try:
                deleted += self.delete(file_id, tenant)
            except ConflictError:  # a batch still reads it: deleted once the batch has ended
                continue
        return deleted
