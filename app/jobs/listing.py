"""A tenant's jobs, newest first, for ``GET /v1/jobs``.

Each tenant has a sorted set of its job ids scored by submit time, written by the same steps that write the
records (the CREATE and FOLLOW scripts, a cached job's transaction) and trimmed of entries older than a record
lives. A page is a ZREVRANGE from the rank after the ``after`` cursor (no gap or repeat while new jobs arrive:
they enter at the other end) plus one HGETALL per job read: O(log n + page), never a SCAN. Filters by status,
model or batch are applied to the records read, reading at most ``MAX_SCANNED`` per page: a page may then come
back short, with ``has_more`` (and its last id as the next cursor) telling that more may match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from app.jobs.record import unpacked, view
from app.redis_conn import Keys

MAX_SCANNED = 1000  # records read for one filtered page at most
LISTED = ("id", "object", "status", "model", "created_at", "started_at", "finished_at", "finish_reason", "usage", "attempts",
          "cached", "worker", "batch_id", "coalesced_with")  # fmt: skip


@dataclass(frozen=True)
class JobFilter:
    status: str | None = None
    model: str | None = None
    batch_id: str | None = None
    created_after: float | None = None  # epoch seconds, exclusive

    def matches(self, job: dict[str, Any]) -> bool:
        return all(
            want is None or job.get(name) == want
            for name, want in (("status", self.status), ("model", self.model), ("batch_id", self.batch_id))
        )


class JobListing:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def page(
        self, tenant: str, *, limit: int, after: str | None = None, where: JobFilter = JobFilter()
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` of the tenant's jobs after ``after``, newest first, and whether more may follow."""
        key, start = self.keys.tenant_jobs(tenant), 0
        if after is not None:
            rank = self.redis.zrevrank(key, after)
            if rank is None:
                return [], False
            start = rank + 1
        found: list[dict[str, Any]] = []
        scanned = 0
        while len(found) <= limit and scanned < MAX_SCANNED:
            chunk = min(max(2 * (limit + 1 - len(found)), 16), MAX_SCANNED - scanned)
            ids = self.redis.zrevrange(key, start, start + chunk - 1, withscores=True)
            if not ids:
                return found[:limit], False
            jobs, gone, older = self._read(ids, tenant, where.created_after)
            if gone:  # records that expired leave the listing as they are met
                self.redis.zrem(key, *gone)
            found += [job for job in jobs if where.matches(job)]
            if older:  # past created_after: nothing further can match
                return found[:limit], len(found) > limit
            start, scanned = start + len(ids), scanned + len(ids)
        return found[:limit], True

    def _read(self, ids: list[tuple[str, float]], tenant: str, created_after: float | None) -> tuple[list[dict[str, Any]], list[str], bool]:
        newer = [job_id for job_id, score in ids if created_after is None or score > created_after]
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in newer:
                pipe.hgetall(self.keys.job(job_id))
            records = pipe.execute()
        jobs, gone = [], []
        for job_id, fields in zip(newer, records, strict=True):
            if not fields or fields.get("tenant", "") != tenant:
                gone.append(job_id)
                continue
            fields = {"id": job_id, **unpacked(fields)}
            if fields["status"] == "following":  # it shares the leader's work: shown with the leader's status
                fields = {**fields, "status": self.redis.hget(self.keys.job(fields["follows"]), "status") or "queued"}
            job = view(fields, queue_rank=None, detached=fields.get("owner_cancelled") == "1")
            jobs.append({name: job[name] for name in LISTED if name in job} | {"ttft_s": (job.get("timings") or {}).get("ttft_s")})
        return jobs, gone, len(newer) < len(ids)
