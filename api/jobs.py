"""Submitting, polling and cancelling jobs."""

from __future__ import annotations

import time

from flask import Blueprint, abort, g, request, url_for

from api.auth import require_tenant
from api.errors import error_response
from api.services import Services, services
from api.sse import job_frames, sse_response
from opentelemetry.trace import SpanKind

from app import tracing
from app.errors import InvalidRequestError
from app.event_hub import follow
from app.jobs import TERMINAL, is_job_id, new_job_id
from cache.admission import admit
from cache.keys import cache_keys
from app.schemas import JobRequest, parse_job_request
from workers.celery_app import GENERATE_TASK

bp = Blueprint("jobs", __name__, url_prefix="/v1")
bp.before_request(require_tenant)

CANCEL_WAIT_S = 2.0  # how long DELETE waits for a running job to stop before answering 202


def json_body() -> object:
    body = request.get_json(force=True, silent=True)  # force: accept a missing Content-Type
    if body is None:
        raise InvalidRequestError("body", "the request body must be valid JSON" if request.get_data() else "the request body is empty")
    return body


def cache_wanted() -> tuple[bool, bool]:
    """(use the cache at all, read from it): ``Cache-Control: no-store`` opts out entirely,
    ``no-cache`` asks for a fresh answer (which is then cached)."""
    directives = {d.strip().lower() for d in request.headers.get("Cache-Control", "").split(",")}
    return "no-store" not in directives, "no-cache" not in directives


def enqueue(svc: Services, job_request: JobRequest, tenant: str) -> dict:
    """Check the prompt fits; answer from the cache or join an identical job in flight;
    else store the job and send its task. Returns the job record."""
    with tracing.tracer().start_as_current_span("llmjobs.submit", kind=SpanKind.PRODUCER) as span:
        job = _enqueue(svc, job_request, tenant)
        span.set_attributes({"llmjobs.job_id": job["id"], "llmjobs.cached": job["cached"], "llmjobs.coalesced": bool(job.get("coalesced_with"))})
        return job


def _enqueue(svc: Services, job_request: JobRequest, tenant: str) -> dict:
    sampling = job_request.sampling(svc.config.api.default_max_tokens)
    prompt_ids = svc.prompts.token_ids(job_request)
    svc.prompts.check_fits(len(prompt_ids), sampling.max_tokens)
    stored = job_request.stored()
    job_id = new_job_id()
    use, read = cache_wanted()
    ticket = None
    if use and job_request.cache:
        keys = cache_keys(request=stored, prompt_ids=prompt_ids, sampling=sampling, tenant=tenant, model_id=svc.model_id)
        admission = admit(
            svc.cache, svc.jobs, keys, request=stored, tenant=tenant, model=svc.model_name, prompt_tokens=len(prompt_ids),
            job_id=job_id, inflight_ttl_s=2 * svc.config.worker.task_time_limit_s, lookup=read,
        )
        svc.metrics.cache_lookup(admission.tier, admission.result)
        if admission.job is not None:
            svc.metrics.submitted.labels(served_by="cache" if admission.result == "hit" else "coalesced").inc()
            return admission.job
        ticket = admission.ticket
    job = svc.jobs.create(stored, tenant=tenant, model=svc.model_name, job_id=job_id, cache_ticket=ticket.to_json() if ticket else None)
    try:
        svc.celery.send_task(GENERATE_TASK, args=[job["id"]], task_id=job["id"], headers=tracing.headers())
    except Exception:
        svc.jobs.discard(job["id"])  # never leave a record for work that was not enqueued
        raise
    svc.metrics.submitted.labels(served_by="queue").inc()
    return job


def events_of(job: dict) -> str:
    """Whose event log a job's clients follow: its own, or that of the job it coalesced with."""
    return job.get("coalesced_with") if job["status"] != "cancelled" and job.get("coalesced_with") else job["id"]


def find_job(job_id: str) -> dict:
    job = services().jobs.get(job_id, tenant=g.tenant) if is_job_id(job_id) else None
    if job is None:
        abort(404, f"job {job_id!r} does not exist")
    return job


@bp.post("/jobs")
def submit_job():
    """Validate a prompt, store a queued job, enqueue it; answer 202 with where to poll,
    or with ``"stream": true`` the job's event stream itself."""
    svc = services()
    job_request = parse_job_request(json_body(), max_tokens=svc.config.api.max_tokens)
    job = enqueue(svc, job_request, g.tenant)
    url = url_for("jobs.get_job", job_id=job["id"])
    if job_request.stream:
        events = follow(svc.hub, svc.events, events_of(job))
        return sse_response(job_frames(events), headers={"Location": url, "X-Job-Id": job["id"], "X-Cache": cache_header(job)})
    body = {"id": job["id"], "object": "job", "status": job["status"], "created_at": job["created_at"], "url": url, "cached": job["cached"]}
    for name in ("cache", "coalesced_with"):
        if name in job:
            body[name] = job[name]
    return body, 202, {"Location": url, "X-Cache": cache_header(job)}


def cache_header(job: dict) -> str:
    """``X-Cache``: ``hit; tier=exact``, ``hit; tier=semantic``, ``coalesced`` or ``miss``."""
    if job["cached"]:
        return f"hit; tier={job['cache']['tier']}"
    return "coalesced" if job.get("coalesced_with") else "miss"


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    """The job's record: status, timestamps, and once done its output, usage and timings."""
    return find_job(job_id)


@bp.delete("/jobs/<job_id>")
def cancel_job(job_id: str):
    """Cancel a job: a queued one never runs; a running one stops within a decode step.

    200 with the cancelled job, 202 if it is still stopping after a moment, 409 if it had already ended.
    """
    svc = services()
    find_job(job_id)
    outcome = svc.jobs.cancel(job_id)
    if outcome == "missing":
        abort(404, f"job {job_id!r} does not exist")
    if outcome not in ("dequeued", "cancelling", "detached"):
        return error_response(409, "conflict", f"job {job_id!r} has already ended ({outcome}); nothing to cancel")
    deadline = time.monotonic() + CANCEL_WAIT_S
    job = find_job(job_id)
    while job["status"] not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.02)
        job = find_job(job_id)
    return job, 200 if job["status"] in TERMINAL else 202
