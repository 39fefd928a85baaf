"""Celery tasks: deserialize, call the core, return. No model code runs at import."""

from __future__ import annotations

from celery import shared_task

from app.obs.tracing import continued
from workers.celery_app import GENERATE_TASK
from workers.engine_host import get_host


@shared_task(name=GENERATE_TASK, bind=True)
def generate(self, job_id: str) -> dict[str, str]:
    """Generate the answer for job ``job_id`` (its request is in the job store)."""
    # Custom message headers surface as request attributes (Celery's protocol 2) or in .headers.
    carrier = {key: self.request.get(key) or (self.request.headers or {}).get(key) for key in ("traceparent", "tracestate")}
    with continued("llmjobs.generate", carrier, **{"llmjobs.job_id": job_id}) as span:
        status = get_host().run_job(job_id)
        span.set_attribute("llmjobs.status", status)
    return {"job_id": job_id, "status": status}
