"""Submitting, polling, cancelling and erasing jobs."""

from __future__ import annotations

import time

from flask import Blueprint, abort, g, request, url_for

from api.auth import issue_stream_token, require_tenant
from api.errors import error_response
from api.services import services
from api.sse import job_frames, sse_response
from api.view_helpers import cache_header, find_job, float_arg, int_arg, json_body, openai_list, status_arg, submit
from app.jobs.erase import erase_job
from app.jobs.event_hub import follow
from app.jobs.listing import JobFilter
from app.jobs.record import TERMINAL
from app.jobs.request import parse_job_request
from app.jobs.submit import events_source

bp = Blueprint("jobs", __name__, url_prefix="/v1")
bp.before_request(require_tenant)

CANCEL_WAIT_S = 2.0  # how long DELETE waits for a running job to stop before answering 202
PUBLIC_FIELDS = ("id", "object", "status", "created_at")


@bp.post("/jobs")
def submit_job():
    """Validate a prompt, store a queued job, enqueue it; answer 202 with where to poll,
    or with ``"stream": true`` the job's event stream itself."""
    svc = services()
    job_request = parse_job_request(json_body(), max_tokens=svc.config.api.max_tokens)
    job = submit(job_request)
    url = url_for("jobs.get_job", job_id=job["id"])
    headers = {"Location": url, "X-Cache": cache_header(job)}
    if job_request.stream:
        events = follow(svc.hub, svc.events, events_source(job))
        return sse_response(job_frames(events), headers={**headers, "X-Job-Id": job["id"]})
    body = {**{name: job[name] for name in PUBLIC_FIELDS}, "url": url, "cached": job["cached"]}
    body.update({name: job[name] for name in ("cache", "coalesced_with") if name in job})
    return {**body, "stream_token": issue_stream_token(job["id"])}, 202, headers


@bp.get("/jobs")
def list_jobs():
    """The caller's jobs, newest first, as an OpenAI list: ``limit`` (1-100, default 20), ``after`` (a job id: the
    page after it), filtered by ``status``, ``model``, ``batch_id`` and ``created_after`` (epoch seconds)."""
    args = request.args
    where = JobFilter(status=status_arg(), model=args.get("model"), batch_id=args.get("batch_id"), created_after=float_arg("created_after"))
    jobs, more = services().listing.page(g.tenant, limit=int_arg("limit", 20, 1, 100), after=args.get("after"), where=where)
    return openai_list(jobs, more)


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    """The job's record: status, timestamps, once done its output, usage and timings; and a fresh
    ``stream_token`` for its stream routes (``?token=``), since only its owner gets here."""
    return {**find_job(job_id), "stream_token": issue_stream_token(job_id)}


@bp.delete("/jobs/<job_id>")
def cancel_job(job_id: str):
    """Cancel a job: a queued one never runs; a running one stops within a decode step.

    200 with the cancelled job, 202 if it is still stopping after a moment, 409 if it had already ended.
    """
    find_job(job_id)
    outcome = services().jobs.cancel(job_id)
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


@bp.post("/jobs/<job_id>/erase")
def erase(job_id: str):
    """Erase an ended job for good: its record, its event log and the cache entry its answer created.

    200 with what was erased; 404 if unknown (or another tenant's); 409 while it is queued or running
    (cancel it first), or for a moment after it ends while its answer is being cached (Retry-After).
    """
    find_job(job_id)
    erased = erase_job(services().jobs, job_id, g.tenant)
    if erased.outcome == "missing":
        abort(404, f"job {job_id!r} does not exist")
    if erased.outcome == "active":
        return error_response(409, "conflict", f"job {job_id!r} has not ended: cancel it first (DELETE /v1/jobs/{job_id})")
    if erased.outcome == "finishing":
        response = error_response(409, "conflict", f"job {job_id!r} is still storing its answer; try again in a second")
        response[0].headers["Retry-After"] = "1"
        return response
    return {"id": job_id, "object": "job.erased", "erased": True, "cache_entries": erased.cache_entries}
