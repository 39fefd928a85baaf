"""What several blueprints' views share: the JSON body, the caller's job, the cache headers."""

from __future__ import annotations

import math

from flask import abort, g, request

from api.services import services
from app.errors import InvalidRequestError
from app.jobs.record import JobStatus, is_job_id
from app.jobs.request import JobRequest
from app.jobs.submit import MODES, CachePolicy, SubmitService

STATUSES = tuple(status.value for status in JobStatus)


def json_body() -> object:
    body = request.get_json(force=True, silent=True)  # force: accept a missing Content-Type
    if body is None:
        raise InvalidRequestError("body", "the request body must be valid JSON" if request.get_data() else "the request body is empty")
    return body


def cache_policy() -> CachePolicy:
    """From ``Cache-Control`` (``no-store`` opts out of the cache, ``no-cache`` asks for a fresh answer)
    and ``X-Cache-Mode`` (``off``, ``exact`` or ``semantic``: how strict, never looser than the tenant's)."""
    directives = request.cache_control
    mode = request.headers.get("X-Cache-Mode", "").strip().lower() or None
    if mode is not None and mode not in MODES:
        raise InvalidRequestError("X-Cache-Mode", f"X-Cache-Mode: must be one of {', '.join(MODES)}, got {mode!r}")
    return CachePolicy(use=not directives.no_store, read=not directives.no_cache, mode=mode)


def submitter_for(model: str | None, deadline_s: float | None) -> SubmitService:
    """The submit service of ``model`` (None: the deployment's default). A request with a deadline may wait
    in the queue of a model no worker serves right now; without one, that is a 503 (see README: Scaling out)."""
    return services().models.service_for(model, may_queue=deadline_s is not None, tenant=g.tenant)


def submit(job_request: JobRequest, submitter: SubmitService | None = None) -> dict:
    """Submit for the caller's tenant (one service call: ``submitter``, else that of the request's ``model``);
    the rate-limit headers go on the reply."""
    submitter = submitter or submitter_for(job_request.model, job_request.deadline_s)
    submission = submitter.submit(job_request, g.tenant, cache_policy())
    g.reply_headers = submission.headers
    return submission.job


def find_job(job_id: str) -> dict:
    """The caller's job, or 404 (an unknown id and another tenant's job look the same)."""
    job = services().jobs.get(job_id, tenant=g.tenant) if is_job_id(job_id) else None
    if job is None:
        abort(404, f"job {job_id!r} does not exist")
    return job


def cache_header(job: dict) -> str:
    """``X-Cache``: ``hit; tier=exact``, ``hit; tier=semantic``, ``coalesced`` or ``miss``, then ``; mode=``
    the strictness the request got (``off``, ``exact``, ``semantic``)."""
    result = f"hit; tier={job['cache']['tier']}" if job["cached"] else "coalesced" if job.get("coalesced_with") else "miss"
    return f"{result}; mode={job['cache_mode']}" if job.get("cache_mode") else result


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequestError(name, f"{name}: must be an integer") from None
    if not low <= value <= high:
        raise InvalidRequestError(name, f"{name}: must be {low} to {high}, got {value}")
    return value


def openai_list(data: list[dict], has_more: bool) -> dict:
    """OpenAI's list object: a page of ``data`` with its first and last ids."""
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": has_more}


def float_arg(name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidRequestError(name, f"{name}: must be a number (epoch seconds)") from None
    if not math.isfinite(value):
        raise InvalidRequestError(name, f"{name}: must be a finite number")
    return value


def status_arg() -> str | None:
    raw = request.args.get("status")
    if raw is not None and raw not in STATUSES:
        raise InvalidRequestError("status", f"status: one of {', '.join(STATUSES)}")
    return raw
