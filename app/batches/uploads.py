"""Uploading a batch input file and creating a batch over it: the services behind the Files and Batch routes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import IO, Any

from app.batches.files import MAX_FILE_BYTES, MAX_FILE_LINES, FileRegistry, StoredFile, new_file_id
from app.batches.record import COMPLETION_WINDOWS, BatchStatus, new_batch_id
from app.batches.store import BatchStore
from app.errors import InvalidRequestError, NotFoundError, TooLargeError
from app.webhooks.destinations import Destinations


def upload(files: FileRegistry, *, tenant: str, stream: IO[bytes], filename: str, purpose: str, expires_s: int) -> StoredFile:
    """Store an uploaded file (streamed to the file store, never held whole in memory) and record it for ``tenant``."""
    file_id, lines, last = new_file_id(), 0, b""

    def chunks() -> Iterator[bytes]:
        nonlocal lines, last
        while chunk := stream.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            yield chunk

    size = files.store.write(file_id, chunks())
    lines += bool(size) and last != b"\n"  # a last line without its newline
    try:
        if size == 0:
            raise InvalidRequestError("file", "file: the file is empty")
        if size > MAX_FILE_BYTES:
            raise TooLargeError("file", f"file: larger than {MAX_FILE_BYTES} bytes")
        if lines > MAX_FILE_LINES:
            raise InvalidRequestError("file", f"file: {lines} lines; a batch file holds at most {MAX_FILE_LINES}")
        now = int(time.time())
        stored = StoredFile(id=file_id, tenant=tenant, bytes=size, created_at=now, expires_at=now + expires_s,
                            filename=filename, purpose=purpose, lines=lines)  # fmt: skip
        files.register(stored)
    except (InvalidRequestError, TooLargeError):
        files.store.delete(file_id)
        raise
    return stored


def create_batch(batches: BatchStore, files: FileRegistry, *, tenant: str, input_file_id: str, endpoint: str, completion_window: str,
                 metadata: dict[str, str] | None, output_expires_s: int | None, max_active: int,
                 destinations: Destinations | None = None, webhook: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A new batch, ``validating``, over the tenant's uploaded file; :class:`OverloadedError` past the tenant's cap."""
    if destinations is None and webhook:
        raise InvalidRequestError("webhook", "webhook: this deployment delivers no webhooks")
    hook = destinations.for_request(tenant, webhook) if destinations is not None else None
    source = files.get(input_file_id, tenant=tenant)
    if source is None:
        raise NotFoundError(f"No such File object: {input_file_id}", "input_file_id")
    if source.purpose != "batch":
        raise InvalidRequestError("input_file_id", f"input_file_id: the file's purpose is {source.purpose!r}, not 'batch'")
    now = time.time()
    fields: dict[str, Any] = {
        "id": new_batch_id(),
        "tenant": tenant,
        "status": BatchStatus.VALIDATING.value,
        "endpoint": endpoint,
        "input_file_id": input_file_id,
        "completion_window": completion_window,
        "created_at": repr(now),
        "expires_at": repr(now + COMPLETION_WINDOWS[completion_window]),
        "completed": 0,
        "failed": 0,
    }
    if metadata is not None:
        fields["metadata"] = json.dumps(metadata)
    if output_expires_s is not None:
        fields["output_expires_s"] = output_expires_s
    if hook is not None:
        fields.update(webhook=hook.url, webhook_ttl=hook.ttl_s)  # read by the step that ends the batch (store.MOVE)
    return batches.create(fields, file_users_key=files.users_key(input_file_id), max_active=max_active)
