"""The Files and Batch routes' part of the OpenAPI document (api/openapi.py merges it in)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.batch_schemas import BatchCreateRequest
from api.openapi_webhooks import WebhookDelivery

JSON = "application/json"
BYTES = "application/octet-stream"


class FileObject(BaseModel):
    """OpenAI's file object."""

    id: str
    object: Literal["file"]
    bytes: int
    created_at: int
    expires_at: int | None = None
    filename: str
    purpose: Literal["batch", "batch_output"]
    status: Literal["processed"]
    status_details: str | None = None


class FileList(BaseModel):
    object: Literal["list"]
    data: list[FileObject]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"]
    deleted: bool


class RequestCounts(BaseModel):
    total: int
    completed: int
    failed: int


class BatchError(BaseModel):
    code: str | None = None
    message: str | None = None
    param: str | None = None
    line: int | None = Field(default=None, description="The input file's line, counted from 1")


class BatchErrors(BaseModel):
    object: Literal["list"]
    data: list[BatchError]


class BatchObject(BaseModel):
    """OpenAI's batch object."""

    id: str
    object: Literal["batch"]
    endpoint: str
    model: str | None = None
    errors: BatchErrors | None = None
    input_file_id: str
    completion_window: str
    status: Literal["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"]
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: RequestCounts
    usage: dict[str, Any]
    metadata: dict[str, str] | None = None
    webhook: WebhookDelivery | None = Field(default=None, description="Ours: where its end is announced, and how that went.")


class BatchList(BaseModel):
    object: Literal["list"]
    data: list[BatchObject]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool


MODELS = {"BatchCreateRequest": BatchCreateRequest, "FileObject": FileObject, "FileList": FileList, "FileDeleted": FileDeleted,
          "BatchObject": BatchObject, "BatchList": BatchList}  # fmt: skip


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, **({"description": description} if description else {})}


def paths(json_reply, errors) -> dict[str, Any]:
    """``json_reply(model, description)`` and ``errors(*codes)``: api/openapi.py's helpers."""
    file_id = [_param("file_id", "path", {"type": "string"}, True)]
    batch_id = [_param("batch_id", "path", {"type": "string"}, True)]
    after = _param("after", "query", {"type": "string"}, description="The id after which the page starts")
    upload = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "purpose"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "JSONL, one request per line (200 MB, 50,000 lines)"},
                        "purpose": {"type": "string", "enum": ["batch"]},
                        "expires_after[anchor]": {"type": "string", "enum": ["created_at"]},
                        "expires_after[seconds]": {"type": "integer", "minimum": 3600, "maximum": 2592000},
                    },
                }
            }
        },
    }
    return {
        "/v1/files": {
            "post": {"summary": "Upload a batch input file", "requestBody": upload,
                     "responses": {"200": json_reply("FileObject", "Stored"), **errors(400, 401, 408, 413, 503)}},
            "get": {
                "summary": "The caller's files",
                "parameters": [_param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10000}), after,
                               _param("order", "query", {"type": "string", "enum": ["asc", "desc"]}),
                               _param("purpose", "query", {"type": "string"})],
                "responses": {"200": json_reply("FileList", "A page of files, newest first by default"), **errors(400, 401, 503)},
            },
        },
        "/v1/files/{file_id}": {
            "parameters": file_id,
            "get": {"summary": "A file's object", "responses": {"200": json_reply("FileObject", "The file"), **errors(401, 404, 503)}},
            "delete": {"summary": "Delete a file and its bytes",
                       "responses": {"200": json_reply("FileDeleted", "Deleted"), **errors(401, 404, 409, 503)}},
        },
        "/v1/files/{file_id}/content": {
            "parameters": file_id,
            "get": {"summary": "A file's bytes",
                    "responses": {"200": {"description": "The file", "content": {BYTES: {"schema": {"type": "string"}}}},
                                  **errors(401, 404, 503)}},
        },
        "/v1/batches": {
            "post": {"summary": "Create a batch over an uploaded file",
                     "requestBody": {"required": True, "content": {JSON: {"schema": {"$ref": "#/components/schemas/BatchCreateRequest"}}}},
                     "responses": {"200": json_reply("BatchObject", "Created: validating"), **errors(400, 401, 404, 408, 413, 429, 503)}},
            "get": {"summary": "The caller's batches, newest first",
                    "parameters": [_param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100}), after],
                    "responses": {"200": json_reply("BatchList", "A page of batches"), **errors(400, 401, 503)}},
        },
        "/v1/batches/{batch_id}": {
            "parameters": batch_id,
            "get": {"summary": "A batch, its request_counts live",
                    "responses": {"200": json_reply("BatchObject", "The batch"), **errors(401, 404, 503)}},
        },
        "/v1/batches/{batch_id}/cancel": {
            "parameters": batch_id,
            "post": {"summary": "Cancel a batch", "responses": {"200": json_reply("BatchObject", "Cancelling (or cancelled)"),
                                                                **errors(401, 404, 409, 503)}},
        },
    }  # fmt: skip
