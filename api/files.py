"""OpenAI's Files API for batch input and output: upload, list, get, download, delete.

Bytes go to the file store (a folder or an fsspec URL), metadata to Redis; each file is its tenant's
alone (another tenant's id is a 404). The upload route alone takes bodies past LLMJOBS_MAX_BODY_BYTES,
up to OpenAI's 200 MB for a batch file.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, request

from api.auth import require_tenant
from api.services import services
from api.view_helpers import int_arg, openai_list
from app.batches import uploads
from app.batches.files import DEFAULT_EXPIRES_S, MAX_FILE_BYTES, StoredFile
from app.errors import InvalidRequestError

bp = Blueprint("files", __name__, url_prefix="/v1")
bp.before_request(require_tenant)

UPLOAD_OVERHEAD = 64 * 1024  # the multipart envelope and form fields around the file itself
MIN_EXPIRES_S, MAX_EXPIRES_S = 3600, 30 * 86400  # OpenAI's bounds for expires_after.seconds
MAX_LIST = 10_000


@bp.before_request
def _large_uploads() -> None:
    if request.endpoint == "files.upload":
        request.max_content_length = MAX_FILE_BYTES + UPLOAD_OVERHEAD


@bp.post("/files")
def upload():
    """Upload a JSONL file of batch requests (multipart: ``file``, ``purpose=batch``, optional
    ``expires_after[anchor]=created_at`` and ``expires_after[seconds]``)."""
    purpose = request.form.get("purpose")
    if not purpose:
        raise InvalidRequestError("purpose", "Missing required parameter: 'purpose'.")
    if purpose != "batch":
        raise InvalidRequestError("purpose", f"purpose: this server stores batch input files only ('batch'), got {purpose!r}")
    sent = request.files.get("file")
    if sent is None:
        raise InvalidRequestError("file", "Missing required parameter: 'file' (a multipart file part).")
    expires_s = expires_after(request.form.get("expires_after[anchor]"), request.form.get("expires_after[seconds]"))
    stored = uploads.upload(services().files, tenant=g.tenant, stream=sent.stream, filename=sent.filename or "upload.jsonl",
                            purpose=purpose, expires_s=expires_s)  # fmt: skip
    return stored.view()


def expires_after(anchor: str | None, seconds: str | None) -> int:
    if anchor is None and seconds is None:
        return DEFAULT_EXPIRES_S
    if anchor != "created_at":
        raise InvalidRequestError("expires_after.anchor", "expires_after.anchor: must be 'created_at'")
    try:
        value = int(seconds or "")
    except ValueError:
        raise InvalidRequestError("expires_after.seconds", "expires_after.seconds: must be an integer") from None
    if not MIN_EXPIRES_S <= value <= MAX_EXPIRES_S:
        raise InvalidRequestError("expires_after.seconds", f"expires_after.seconds: must be {MIN_EXPIRES_S} to {MAX_EXPIRES_S}")
    return value


@bp.get("/files")
def list_files():
    """The caller's files as an OpenAI list (``limit``, ``after``, ``order``, ``purpose``)."""
    limit = int_arg("limit", MAX_LIST, 1, MAX_LIST)
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequestError("order", "order: must be 'asc' or 'desc'")
    files, more = services().files.list(
        g.tenant, limit=limit, after=request.args.get("after"), order=order, purpose=request.args.get("purpose")
    )
    return openai_list([f.view() for f in files], more)


def find_file(file_id: str) -> StoredFile:
    found = services().files.get(file_id, tenant=g.tenant)
    if found is None:
        abort(404, f"No such File object: {file_id}")
    return found


@bp.get("/files/<file_id>")
def get_file(file_id: str):
    return find_file(file_id).view()


@bp.get("/files/<file_id>/content")
def file_content(file_id: str):
    """The file's bytes, streamed."""
    found = find_file(file_id)
    headers = {"Content-Length": str(found.bytes), "Content-Disposition": f'attachment; filename="{found.filename}"'}
    return Response(services().files.store.read_chunks(found.id), mimetype="application/octet-stream", headers=headers)


@bp.delete("/files/<file_id>")
def delete_file(file_id: str):
    """Delete a file and its bytes; 409 while a batch that has not ended reads it."""
    find_file(file_id)
    if not services().files.delete(file_id, g.tenant):
        abort(404, f"No such File object: {file_id}")
    return {"id": file_id, "object": "file", "deleted": True}
