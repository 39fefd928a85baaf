"""The job listing's and the stats' part of the OpenAPI document (api/openapi.py merges it in)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.jobs.record import JobStatus

LIST_PARAMETERS = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    {"name": "after", "in": "query", "schema": {"type": "string"}, "description": "A job id: the page after it"},
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": [status.value for status in JobStatus]}},
    {"name": "model", "in": "query", "schema": {"type": "string"}},
    {"name": "batch_id", "in": "query", "schema": {"type": "string"}},
    {"name": "created_after", "in": "query", "schema": {"type": "number"}, "description": "Epoch seconds (exclusive)"},
]


SSE_EVENT = {"type": "object", "properties": {"event": {"enum": ["stats", "unavailable"]}, "data": {"type": "string"}}}


class JobSummary(BaseModel):
    """A job as ``GET /v1/jobs`` lists it (the full record, output included, is ``GET /v1/jobs/{id}``)."""

    id: str
    object: Literal["job"]
    status: str
    model: str | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    ttft_s: float | None = None
    attempts: int
    cached: bool
    worker: str | None = None
    batch_id: str | None = None
    coalesced_with: str | None = None


class JobList(BaseModel):
    object: Literal["list"]
    data: list[JobSummary]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool


class Stats(BaseModel):
    """``GET /v1/stats``: the queue, running jobs, workers, the last minutes' figures, batches."""

    object: Literal["stats"]
    time: float
    queue: dict[str, Any]
    running: int
    workers: list[dict[str, Any]]
    recent: dict[str, Any] = Field(
        description="window_s, bucket_s, series [{t, out_tok_per_s, ended, failed}], jobs_ended, "
        "jobs_failed, error_rate, out_tok_per_s, ttft_p95_s"
    )
    batches: dict[str, int]
