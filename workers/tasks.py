"""Celery tasks: deserialize, call the core, return. No model code runs at import."""

from __future__ import annotations

from celery import shared_task

from workers.celery_app import GENERATE_TASK
from workers.engine_host import get_host


@shared_task(name=GENERATE_TASK)
def generate(job_id: str) -> dict[str, str]:
    """Generate the answer for job ``job_id`` (its request is in the job store)."""
    return {"job_id": job_id, "status": get_host().run_job(job_id)}
