"""Submitting a job: the one service every submit route calls.

Tokenize the prompt and check it fits; answer from the result cache, or let the job follow an
identical one already in flight; otherwise store a queued job and send its task. A job whose
task could not be sent is removed again, so no record ever promises work that never comes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry.trace import SpanKind

from app.jobs.admission import admit
from app.jobs.prompts import PromptBuilder
from app.jobs.request import JobRequest
from app.jobs.store import JobStore, new_job_id
from app.obs import tracing
from cache.keys import cache_keys
from cache.result_cache import ResultCache

# Sends the generation task of a stored job: (job id, message headers carrying the trace context).
SendTask = Callable[[str, dict[str, str]], None]


class SubmitMetrics(Protocol):
    def cache_lookup(self, tier: str, result: str) -> None: ...

    def job_submitted(self, served_by: str) -> None: ...


@dataclass(frozen=True)
class CachePolicy:
    """What the client allows: ``use`` the cache at all (``Cache-Control: no-store`` and
    ``"cache": false`` say no), and ``read`` from it (``no-cache`` asks for a fresh answer, which is
    then cached)."""

    use: bool = True
    read: bool = True


class SubmitService:
    def __init__(self, *, jobs: JobStore, cache: ResultCache, prompts: PromptBuilder, send_task: SendTask, metrics: SubmitMetrics,
                 model_name: str, model_id: str, default_max_tokens: int, inflight_ttl_s: int) -> None:  # fmt: skip
        self.jobs = jobs
        self.cache = cache
        self.prompts = prompts
        self.send_task = send_task
        self.metrics = metrics
        self.model_name = model_name
        self.model_id = model_id  # name + revision + numerics: part of every cache key
        self.default_max_tokens = default_max_tokens
        self.inflight_ttl_s = inflight_ttl_s  # how long an identical request may wait on this one

    def submit(self, request: JobRequest, tenant: str, policy: CachePolicy = CachePolicy()) -> dict[str, Any]:
        """Accept ``request`` for ``tenant``; return its job record (queued, cached or coalesced)."""
        with tracing.tracer().start_as_current_span("llmjobs.submit", kind=SpanKind.PRODUCER) as span:
            job, served_by = self._submit(request, tenant, policy)
            span.set_attributes(
                {"llmjobs.job_id": job["id"], "llmjobs.cached": job["cached"], "llmjobs.coalesced": bool(job.get("coalesced_with"))}
            )
        self.metrics.job_submitted(served_by)
        return job

    def _submit(self, request: JobRequest, tenant: str, policy: CachePolicy) -> tuple[dict[str, Any], str]:
        sampling = request.sampling(self.default_max_tokens)
        prompt_ids = self.prompts.token_ids(request)
        self.prompts.check_fits(len(prompt_ids), sampling["max_tokens"])
        stored = request.stored()
        job_id = new_job_id()
        ticket = None
        if policy.use and request.cache:
            keys = cache_keys(request=stored, prompt_ids=prompt_ids, sampling=sampling, tenant=tenant, model_id=self.model_id)
            admission = admit(
                self.cache, self.jobs, keys, request=stored, tenant=tenant, model=self.model_name,
                prompt_tokens=len(prompt_ids), job_id=job_id, inflight_ttl_s=self.inflight_ttl_s, lookup=policy.read,
            )  # fmt: skip
            self.metrics.cache_lookup(admission.tier, admission.result)
            if admission.job is not None:
                return admission.job, "cache" if admission.result == "hit" else "coalesced"
            ticket = admission.ticket
        job = self.jobs.create(
            stored, tenant=tenant, model=self.model_name, job_id=job_id, cache_ticket=ticket.to_json() if ticket else None
        )
        try:
            self.send_task(job["id"], tracing.headers())
        except Exception:
            self.jobs.discard(job["id"])  # never leave a record for work that was not enqueued
            raise
        return job, "queue"


def events_source(job: dict[str, Any]) -> str:
    """Whose event log a job's clients follow: its own, or that of the job it coalesced with."""
    return job["coalesced_with"] if job["status"] != "cancelled" and job.get("coalesced_with") else job["id"]
