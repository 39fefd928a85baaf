"""A batch's statuses, its fields in its Redis hash, and OpenAI's batch object built from them."""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import Any

from app.webhooks.outbox import delivery_view

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
COMPLETION_WINDOWS = {"24h": 24 * 3600}


class BatchStatus(StrEnum):
    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


TERMINAL = frozenset({BatchStatus.FAILED, BatchStatus.COMPLETED, BatchStatus.EXPIRED, BatchStatus.CANCELLED})
# Each status's timestamp field in OpenAI's object.
STAMPS = {
    BatchStatus.IN_PROGRESS: "in_progress_at",
    BatchStatus.FINALIZING: "finalizing_at",
    BatchStatus.COMPLETED: "completed_at",
    BatchStatus.FAILED: "failed_at",
    BatchStatus.EXPIRED: "expired_at",
    BatchStatus.CANCELLING: "cancelling_at",
    BatchStatus.CANCELLED: "cancelled_at",
}
TIME_FIELDS = ("created_at", "expires_at", *STAMPS.values())
COUNTS = ("completed", "failed", "prompt_tokens", "completion_tokens")


def new_batch_id() -> str:
    return f"batch_{uuid.uuid4().hex}"


def line_job_id(batch_id: str, line: int, choice: int) -> str:
    """The job id of one choice of one input line: the same every time, so a feeder that died after
    submitting a line and before recording it finds the job instead of submitting it twice."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"llmjobs:{batch_id}/{line}/{choice}"))


class LineIds:
    """The job ids of one input line's choices (``ids(choice)``), and the batch they belong to."""

    def __init__(self, batch_id: str, line: int) -> None:
        self.batch_id = batch_id
        self.line = line

    def __call__(self, choice: int) -> str:
        return line_job_id(self.batch_id, self.line, choice)


def request_id(batch_id: str, line: int) -> str:
    """``id`` of an output line (``batch_req_...``), stable for one input line."""
    return "batch_req_" + uuid.uuid5(uuid.NAMESPACE_URL, f"llmjobs:{batch_id}/{line}").hex


def view(fields: dict[str, str], webhook_event: dict[str, Any] | None = None) -> dict[str, Any]:
    """OpenAI's batch object (and, our own, its webhook's delivery state)."""
    errors = json.loads(fields["errors"]) if fields.get("errors") else None
    total = int(fields.get("total") or 0)
    completed, failed = int(fields.get("completed") or 0), int(fields.get("failed") or 0)
    prompt, completion = int(fields.get("prompt_tokens") or 0), int(fields.get("completion_tokens") or 0)
    return {
        "id": fields["id"],
        "object": "batch",
        "endpoint": fields["endpoint"],
        "model": fields.get("model") or None,
        "errors": {"object": "list", "data": errors} if errors else None,
        "input_file_id": fields["input_file_id"],
        "completion_window": fields["completion_window"],
        "status": fields["status"],
        "output_file_id": fields.get("output_file_id") or None,
        "error_file_id": fields.get("error_file_id") or None,
        **{name: int(float(fields[name])) if fields.get(name) else None for name in TIME_FIELDS},
        "request_counts": {"total": total, "completed": completed, "failed": failed},
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        },
        "metadata": json.loads(fields["metadata"]) if fields.get("metadata") else None,
        **({"webhook": delivery_view(fields["webhook"], webhook_event)} if fields.get("webhook") else {}),
    }
