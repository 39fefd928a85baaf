"""Erasing a finished job for its tenant: its record, its event log, and the cache entry its answer created.

A job answered by the worker left its answer in the result cache under the ticket the API gave it
(cache/store.py); that entry holds the prompt's text and the output, so erasing the job deletes it
too (through the cache's own ``delete``, which also tells every API process's vector index). A job
answered *from* the cache created nothing there: the entry it was served from belongs to the job
that created it. A job that shared another's work (coalesced) has only its record to erase.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.jobs.record import TERMINAL
from app.jobs.store import JobStore
from cache.store import CacheStore

_TERMINAL = frozenset(status.value for status in TERMINAL)


@dataclass(frozen=True)
class Erased:
    outcome: str  # "erased", "missing" (unknown, or another tenant's), "active" (not ended), "finishing" (its answer is being cached)
    cache_entries: int = 0


def erase_job(jobs: JobStore, job_id: str, tenant: str) -> Erased:
    """Delete ``job_id`` if it belongs to ``tenant`` and has ended; say what was done."""
    fields = jobs.redis.hgetall(jobs.keys.job(job_id))
    if not fields or fields.get("tenant", "") != tenant:
        return Erased("missing")
    following = fields.get("status") == "following"
    shared = jobs.get(job_id, tenant=tenant) if following else None  # a follower ends with the job it follows
    if not (shared is None or shared["status"] in _TERMINAL) or (not following and fields.get("status") not in _TERMINAL):
        return Erased("active")
    store = CacheStore(jobs.redis, jobs.keys.prefix, ttl_s=1, max_entries=1)  # ttl and bound unused: we only delete
    # of the cache ticket only its exact key stays once the worker has recorded the answer (JobStore.take_cache_ticket)
    exact = json.loads(fields["cache_ticket"])["exact"] if fields.get("cache_ticket") else None
    if exact is not None and jobs.redis.get(store.inflight_key(exact)) == job_id:
        return Erased("finishing")  # the worker records the answer, then releases this mark
    removed = 0
    if exact is not None and (number := jobs.redis.get(store.exact_key(exact))):
        entry = jobs.redis.hgetall(store.entry_key(number))
        if entry.get("exact") == exact:
            store.delete(int(number), entry)
            removed = 1
        else:  # an alias to an entry another request created
            jobs.redis.delete(store.exact_key(exact))
    with jobs.redis.pipeline(transaction=True) as pipe:
        pipe.delete(jobs.keys.job(job_id))
        if not following:  # a follower's events are its leader's
            pipe.delete(jobs.keys.events(job_id))
        for key in (jobs.keys.queued, jobs.keys.deadlines, jobs.keys.leases, jobs.keys.active(tenant), jobs.keys.tenant_jobs(tenant)):
            pipe.zrem(key, job_id)
        pipe.execute()
    return Erased("erased", removed)
