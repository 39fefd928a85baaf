"""Submitting a job: the one service every submit route calls.

Tokenize the prompt and check it fits; answer from the result cache, or let the job follow an
identical one already in flight; otherwise store a queued job and send its task. A job whose
task could not be sent is removed again, so no record ever promises work that never comes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry.trace import SpanKind

from app.errors import InvalidRequestError, OverloadedError
from app.jobs.admission import admit
from app.jobs.drain import IDLE_RETRY_S, DrainRate
from app.jobs.prompts import PromptBuilder
from app.jobs.rate_limits import TenantRateLimits
from app.jobs.record import DEFAULT_PRIORITY, new_job_id
from app.jobs.request import JobRequest
from app.jobs.store import EXISTS, JobStore
from app.obs import tracing
from app.webhooks.destinations import Destinations
from app.webhooks.outbox import Destination
from cache.keys import cache_keys
from cache.result_cache import MODES, ResultCache

__all__ = ["MODES", "CachePolicy", "SubmitService", "Submission", "events_source"]

# Sends the generation task of a stored job: (job id, its priority, message headers carrying the trace context).
SendTask = Callable[[str, int, dict[str, str]], None]


class SubmitMetrics(Protocol):
    def cache_lookup(self, tier: str, result: str) -> None: ...

    def job_submitted(self, served_by: str) -> None: ...

    def job_rejected(self, reason: str) -> None: ...


@dataclass(frozen=True)
class CachePolicy:
    """What the client allows: ``use`` the cache at all (``Cache-Control: no-store`` and
    ``"cache": false`` say no), ``read`` from it (``no-cache`` asks for a fresh answer, which is
    then cached), and how strict it may be (``mode``: off, exact or semantic; the ``X-Cache-Mode``
    header), which can only tighten the tenant's and the server's mode."""

    use: bool = True
    read: bool = True
    mode: str | None = None


@dataclass(frozen=True)
class Submission:
    job: dict[str, Any]  # the job record: queued, answered from the cache, or following another
    headers: dict[str, str] = field(default_factory=dict)  # X-RateLimit-* for the client


class SubmitService:
    def __init__(self, *, jobs: JobStore, cache: ResultCache, prompts: PromptBuilder, send_task: SendTask, metrics: SubmitMetrics,
                 model_name: str, model_id: str, default_max_tokens: int, inflight_ttl_s: int, max_queued: int = 0,
                 drain: DrainRate | None = None, rate_limits: TenantRateLimits | None = None,
                 max_active: int = 0, active_limits: Mapping[str, int] | None = None,
                 destinations: Destinations | None = None) -> None:  # fmt: skip
        self.jobs = jobs
        self.cache = cache
        self.prompts = prompts
        self.send_task = send_task
        self.metrics = metrics
        self.model_name = model_name
        self.model_id = model_id  # name + revision + numerics: part of every cache key
        self.default_max_tokens = default_max_tokens
        self.inflight_ttl_s = inflight_ttl_s  # how long an identical request may wait on this one
        self.max_queued = max_queued  # 0: no bound
        self.drain = drain
        self.rate_limits = rate_limits
        self.max_active = max_active  # per tenant, queued + running; 0: no cap
        self.active_limits = dict(active_limits or {})  # tenant -> its own cap
        self.destinations = destinations  # webhooks: None, none accepted
        self.lora: dict[str, str] | None = None  # the adapter this service's jobs run with (app/jobs/model_router.py)

    @property
    def reply_model(self) -> str:
        """The ``model`` replies name: the adapter a request asked for, else the model."""
        return self.lora["name"] if self.lora else self.model_name

    def submit(
        self, request: JobRequest, tenant: str, policy: CachePolicy = CachePolicy(), *, job_id: str | None = None,
        batch_id: str | None = None,
    ) -> Submission:  # fmt: skip
        """Accept ``request`` for ``tenant``; raise :class:`OverloadedError` past a limit.

        ``job_id``: the id to give the job (a batch line's, derived from its batch and line); a job of that id
        that exists already is returned as it is, nothing sent. ``batch_id``: a batch line of that batch, which the
        batch's own caps pace instead of the tenant's rate and active-job limits (the queue bound still applies)."""
        batch = batch_id is not None
        try:
            webhook = self._webhook(request, tenant, batch)
            headers = self.rate_limits.check(tenant) if self.rate_limits is not None and not batch else {}
            with tracing.tracer().start_as_current_span("llmjobs.submit", kind=SpanKind.PRODUCER) as span:
                job, served_by = self._submit(request, tenant, policy, job_id or new_job_id(), batch_id, webhook)
                span.set_attributes(
                    {"llmjobs.job_id": job["id"], "llmjobs.cached": job["cached"], "llmjobs.coalesced": bool(job.get("coalesced_with"))}
                )
        except OverloadedError as exc:
            self.metrics.job_rejected(exc.reason)
            raise
        self.metrics.job_submitted(served_by)
        return Submission(job, headers)

    def _webhook(self, request: JobRequest, tenant: str, batch: bool) -> Destination | None:
        """The job's webhook: none for a batch line (its batch has one) or where webhooks are not set up."""
        if batch and request.webhook:
            raise InvalidRequestError("webhook", "webhook: a batch line cannot have its own; give the batch one (POST /v1/batches)")
        if batch or (self.destinations is None and not request.webhook):
            return None
        if self.destinations is None:
            raise InvalidRequestError("webhook", "webhook: this deployment delivers no webhooks")
        return self.destinations.for_request(tenant, request.webhook)

    def _submit(self, request: JobRequest, tenant: str, policy: CachePolicy, job_id: str, batch_id: str | None,
                webhook: Destination | None) -> tuple[dict[str, Any], str]:  # fmt: skip
        sampling = request.sampling(self.default_max_tokens)
        prompt_ids = self.prompts.token_ids(request)
        self.prompts.check_fits(len(prompt_ids), sampling["max_tokens"])
        stored = request.stored() | ({"lora": self.lora} if self.lora else {})
        ticket = None
        mode = self.cache.mode_for(tenant, policy.mode if policy.use and request.cache else "off")
        if mode == "off":  # the server's, the tenant's or the request's choice
            self.metrics.cache_lookup("none", "skipped")
        else:
            keys = cache_keys(request=stored, prompt_ids=prompt_ids, sampling=sampling, tenant=tenant, model_id=self.model_id)
            # A job with a webhook neither follows another (its end would be the other's) nor is waited on.
            coalesce = request.priority == DEFAULT_PRIORITY and request.deadline_s is None and webhook is None
            admission = admit(
                self.cache, self.jobs, keys, request=stored, tenant=tenant, model=self.model_name, prompt_tokens=len(prompt_ids),
                job_id=job_id, inflight_ttl_s=self.inflight_ttl_s, lookup=policy.read, coalesce=coalesce, mode=mode, webhook=webhook,
            )  # fmt: skip
            self.metrics.cache_lookup(admission.tier, admission.result)
            if admission.job is not None:
                return admission.job, "cache" if admission.result == "hit" else "coalesced"
            ticket = admission.ticket
        job = self.jobs.create(
            stored,
            tenant=tenant,
            model=self.model_name,
            job_id=job_id,
            cache_ticket=ticket.to_json() if ticket else None,
            max_queued=self.max_queued,
            max_active=0 if batch_id else self.active_limits.get(tenant, self.max_active),
            cache_mode=mode,
            webhook=webhook,
            batch_id=batch_id,
        )
        if job == EXISTS:  # a batch line submitted before, by a feeder that died before recording it
            if ticket is not None:
                self.cache.store.release_inflight(ticket.exact, job_id)
            return self.jobs.get(job_id), "queue"
        if not isinstance(job, dict):
            if ticket is not None:
                self.cache.store.release_inflight(ticket.exact, job_id)  # identical requests must not wait on a job that never was
            raise self._queue_full() if job == 0 else self._tenant_full(tenant)
        try:
            self.send_task(job["id"], request.priority, tracing.headers())
        except Exception:
            self.jobs.discard(job["id"])  # never leave a record for work that was not enqueued
            raise
        return job, "queue"

    def _tenant_full(self, tenant: str) -> OverloadedError:
        cap = self.active_limits.get(tenant, self.max_active)
        retry = self._retry_after()
        return OverloadedError("tenant_active", f"this tenant already has {cap} jobs queued or running; retry in {retry} s", retry)

    def _retry_after(self) -> int:
        """Seconds until the next queued job starts, at the recent drain rate."""
        return self.drain.retry_after(jobs_ahead=1) if self.drain is not None else IDLE_RETRY_S

    def _queue_full(self) -> OverloadedError:
        retry = self._retry_after()
        return OverloadedError("queue_full", f"the queue is full ({self.max_queued} jobs waiting); retry in {retry} s", retry)


def events_source(job: dict[str, Any]) -> str:
    """Whose event log a job's clients follow: its own, or that of the job it coalesced with."""
    return job["coalesced_with"] if job["status"] != "cancelled" and job.get("coalesced_with") else job["id"]
