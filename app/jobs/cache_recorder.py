"""The worker's side of the result cache: record each successful answer under the
ticket the API gave its job, and release the job's in-flight mark however it ended."""

from __future__ import annotations

import logging

import redis

from app.engine import Completion
from app.jobs.record import JobStatus
from app.jobs.store import JobStore
from app.obs.stats import JobOutcome
from cache.result_cache import ResultCache, Ticket

log = logging.getLogger(__name__)


class CacheRecorder:
    def __init__(self, jobs: JobStore, cache: ResultCache) -> None:
        self.jobs = jobs
        self.cache = cache

    def job_ended(self, outcome: JobOutcome, completion: Completion | None) -> None:
        job_id = outcome.job_id
        try:
            raw = self.jobs.take_cache_ticket(job_id)
            if not raw:
                return
            ticket = Ticket.from_json(raw)
            if outcome.status == JobStatus.SUCCEEDED and completion is not None and completion.finish_reason != "cancelled":
                self.cache.record(
                    ticket,
                    output=completion.text,
                    finish_reason=completion.finish_reason,
                    completion_tokens=completion.completion_tokens,
                    token_ids=list(completion.token_ids),
                )
            self.cache.store.release_inflight(ticket.exact, job_id)
        except (redis.RedisError, ValueError, TypeError) as exc:
            log.warning("job %s: result cache not updated: %s", job_id, exc)
