"""OpenAI's Batch API: create a batch over an uploaded file, follow it, list, cancel.

The work itself is the batch runner's (app/batches/runner.py), in the background of every API process.
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, abort, g, request

from api.auth import require_tenant
from api.batch_schemas import BatchCreateRequest
from api.errors import ApiError
from api.openai_schemas import parse_openai
from api.services import services
from api.view_helpers import int_arg, json_body
from app.batches.record import COMPLETION_WINDOWS, TERMINAL, BatchStatus, new_batch_id
from app.batches.store import BatchQuotaExceeded
from app.errors import InvalidRequestError

bp = Blueprint("batches", __name__, url_prefix="/v1")
bp.before_request(require_tenant)

BATCH_LIMIT_RETRY_S = 60


@bp.post("/batches")
def create_batch():
    """Create a batch (``validating``) from an uploaded file of requests to one endpoint."""
    body = parse_openai(BatchCreateRequest, json_body())
    svc = services()
    source = svc.files.get(body.input_file_id, tenant=g.tenant)
    if source is None:
        raise ApiError(404, "invalid_request_error", f"No such File object: {body.input_file_id}", param="input_file_id")
    if source.purpose != "batch":
        raise InvalidRequestError("input_file_id", f"input_file_id: the file's purpose is {source.purpose!r}, not 'batch'")
    now = time.time()
    fields = {
        "id": new_batch_id(),
        "tenant": g.tenant,
        "status": BatchStatus.VALIDATING.value,
        "endpoint": body.endpoint,
        "input_file_id": body.input_file_id,
        "completion_window": body.completion_window,
        "created_at": repr(now),
        "expires_at": repr(now + COMPLETION_WINDOWS[body.completion_window]),
        "completed": 0,
        "failed": 0,
    }
    if body.metadata is not None:
        fields["metadata"] = json.dumps(body.metadata)
    if body.output_expires_after is not None:
        fields["output_expires_s"] = body.output_expires_after.seconds
    try:
        return svc.batches.create(fields, file_users_key=svc.files.users_key(body.input_file_id),
                                  max_active=svc.config.batches.tenant_max_batches)  # fmt: skip
    except BatchQuotaExceeded as exc:
        raise ApiError(429, "rate_limit_error", str(exc), code="batch_limit") from None


def find_batch(batch_id: str) -> dict:
    found = services().batches.get(batch_id, tenant=g.tenant)
    if found is None:
        abort(404, f"No such Batch object: {batch_id}")
    return found


@bp.get("/batches/<batch_id>")
def get_batch(batch_id: str):
    """The batch, its ``request_counts`` live."""
    return find_batch(batch_id)


@bp.get("/batches")
def list_batches():
    """The caller's batches, newest first (``limit`` 1-100, default 20; ``after``: a batch id)."""
    batches, more = services().batches.list(g.tenant, limit=int_arg("limit", 20, 1, 100), after=request.args.get("after"))
    return {"object": "list", "data": batches, "first_id": batches[0]["id"] if batches else None,
            "last_id": batches[-1]["id"] if batches else None, "has_more": more}  # fmt: skip


@bp.post("/batches/<batch_id>/cancel")
def cancel_batch(batch_id: str):
    """Cancel: lines running stop, lines not yet run are not run; what had finished is kept. 409 once it has ended."""
    batch = find_batch(batch_id)
    if batch["status"] in (BatchStatus.CANCELLING, BatchStatus.CANCELLED):
        return batch
    if not services().batches.request_cancel(batch_id):
        batch = find_batch(batch_id)
        if batch["status"] in TERMINAL or batch["status"] == BatchStatus.FINALIZING:
            raise ApiError(409, "conflict", f"Cannot cancel a batch with status '{batch['status']}'.")
    return find_batch(batch_id)
