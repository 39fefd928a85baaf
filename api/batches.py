"""OpenAI's Batch API: create a batch over an uploaded file, follow it, list, cancel.

The work itself is the batch runner's (app/batches/runner.py), in the background of every API process.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, request

from api.auth import require_tenant
from api.batch_schemas import BatchCreateRequest
from api.errors import ApiError
from api.openai_schemas import parse_openai
from api.services import services
from api.view_helpers import int_arg, json_body, openai_list
from app.batches import uploads
from app.batches.record import TERMINAL, BatchStatus

bp = Blueprint("batches", __name__, url_prefix="/v1")
bp.before_request(require_tenant)


@bp.post("/batches")
def create_batch():
    """Create a batch (``validating``) from an uploaded file of requests to one endpoint."""
    body = parse_openai(BatchCreateRequest, json_body())
    svc = services()
    expires = body.output_expires_after.seconds if body.output_expires_after else None
    return uploads.create_batch(svc.batches, svc.files, tenant=g.tenant, input_file_id=body.input_file_id, endpoint=body.endpoint,
                                completion_window=body.completion_window, metadata=body.metadata, output_expires_s=expires,
                                max_active=svc.config.batches.tenant_max_batches, destinations=svc.destinations,
                                webhook=body.webhook)  # fmt: skip


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
    return openai_list(batches, more)


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
