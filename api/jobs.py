"""Submitting jobs and polling them."""

from __future__ import annotations

from flask import Blueprint, abort, g, request, url_for

from api.auth import require_tenant
from api.services import services
from app.errors import InvalidRequestError
from app.jobs import is_job_id
from app.schemas import parse_job_request
from workers.celery_app import GENERATE_TASK

bp = Blueprint("jobs", __name__, url_prefix="/v1")
bp.before_request(require_tenant)


def json_body() -> object:
    body = request.get_json(force=True, silent=True)  # force: accept a missing Content-Type
    if body is None:
        raise InvalidRequestError("body", "the request body must be valid JSON" if request.get_data() else "the request body is empty")
    return body


@bp.post("/jobs")
def submit_job():
    """Validate a prompt, store a queued job, enqueue it; answer 202 with where to poll."""
    svc = services()
    job_request = parse_job_request(json_body(), max_tokens=svc.config.api.max_tokens)
    sampling = job_request.sampling(svc.config.api.default_max_tokens)
    svc.prompts.check_fits(len(svc.prompts.token_ids(job_request)), sampling.max_tokens)
    job = svc.jobs.create(job_request.model_dump(exclude_none=True), tenant=g.tenant, model=svc.model_name)
    try:
        svc.celery.send_task(GENERATE_TASK, args=[job["id"]], task_id=job["id"])
    except Exception:
        svc.jobs.discard(job["id"])  # never leave a record for work that was not enqueued
        raise
    url = url_for("jobs.get_job", job_id=job["id"])
    body = {"id": job["id"], "object": "job", "status": job["status"], "created_at": job["created_at"], "url": url}
    return body, 202, {"Location": url}


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    """The job's record: status, timestamps, and once done its output, usage and timings."""
    job = services().jobs.get(job_id, tenant=g.tenant) if is_job_id(job_id) else None
    if job is None:
        abort(404, f"job {job_id!r} does not exist")
    return job
