"""Before a job is enqueued: answer it from the cache, or let it follow an identical job
already in flight, or hand back the ticket under which its answer will be cached."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis

from app.jobs.store import JobStore
from app.webhooks.outbox import Destination
from cache.keys import CacheKeys
from cache.result_cache import ResultCache, Ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admission:
    job: dict[str, Any] | None  # a job that needs no generation (cached, or following another)
    ticket: Ticket | None  # for a job that must be generated: where to cache its answer
    result: str = "skipped"  # hit, miss, coalesced, skipped (not cacheable or opted out), error
    tier: str = "none"  # exact or semantic: the last tier consulted


def admit(
    cache: ResultCache,
    jobs: JobStore,
    keys: CacheKeys,
    *,
    request: dict[str, Any],
    tenant: str,
    model: str,
    prompt_tokens: int,
    job_id: str,
    inflight_ttl_s: int,
    lookup: bool = True,
    coalesce: bool = True,
    mode: str = "semantic",
    webhook: Destination | None = None,
) -> Admission:
    """``lookup=False`` (``Cache-Control: no-cache``) skips reading the cache but still records the answer;
    ``mode`` ``exact`` reads the exact tier only (``off`` never gets here).

    When Redis fails the cache steps aside: the job goes to the queue uncached.
    """
    if not cache.applies(keys):
        cache.stats.lookups["skipped"] += 1
        return Admission(None, None)
    try:
        if not lookup:
            return Admission(None, Ticket(keys.exact, keys.namespace, keys.text or "", None))
        hit, ticket = cache.lookup(keys, semantic=mode == "semantic")
        tier = "semantic" if hit is None and ticket.vector is not None else (hit.tier if hit else "exact")
        if hit is not None:
            if hit.tier == "semantic":
                cache.store.alias_exact(keys.exact, hit.entry.number)
            answer = hit.entry.answer
            completion_tokens = int(answer.get("completion_tokens", 0))
            job = jobs.create_cached(
                request,
                tenant=tenant,
                model=model,
                output=answer["output"],
                finish_reason=str(answer.get("finish_reason", "stop")),
                usage={
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                token_ids=[int(t) for t in answer.get("token_ids", [])],
                cache={"tier": hit.tier, "similarity": hit.similarity, "entry": hit.entry.number},
                cache_mode=mode,
                job_id=job_id,
                webhook=webhook,
            )
            return Admission(job, None, "hit", tier)
        if not coalesce:  # an urgent or deadline-bound request must not wait behind another job
            return Admission(None, ticket, "miss", tier)
        leader = cache.store.claim_inflight(keys.exact, job_id, inflight_ttl_s)
        if leader is not None and leader != job_id:
            follower = jobs.create_follower(leader, request, tenant=tenant, model=model)
            if follower is not None:
                return Admission(follower, None, "coalesced", tier)
            cache.store.take_over_inflight(keys.exact, job_id, inflight_ttl_s)  # the leader failed or was cancelled: this job computes
        return Admission(None, ticket, "miss", tier)
    except redis.RedisError as exc:
        cache.stats.lookups["error"] += 1
        log.warning("result cache skipped: %s", exc)
        return Admission(None, None, "error")
