"""The webhook routes' part of the OpenAPI document, and the ``webhook`` object of jobs and batches (api/openapi.py merges it in)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class WebhookAttempt(BaseModel):
    at: float = Field(description="When it was sent (epoch seconds)")
    duration_s: float
    status_code: int | None = Field(default=None, description="The receiver's status; absent when no answer came")
    error: str | None = Field(default=None, description="Why no answer came (timeout, refused connection, refused address)")


class WebhookDelivery(BaseModel):
    """A job's or batch's ``webhook``: where its end is announced and how that went."""

    url: str
    id: str | None = Field(default=None, description="The event's webhook-id, msg_<job or batch id>, once it ended")
    type: str | None = None
    status: Literal["waiting", "pending", "delivered", "failed"]
    attempts: list[WebhookAttempt]
    next_attempt_at: float | None = None
    delivered_at: float | None = None


class WebhookEvent(BaseModel):
    object: Literal["webhook.event"]
    id: str
    type: Literal["job.succeeded", "job.failed", "job.cancelled", "job.expired",
                  "batch.completed", "batch.failed", "batch.cancelled", "batch.expired"]  # fmt: skip
    subject_id: str
    url: str
    state: Literal["pending", "delivered", "failed"]
    at: float = Field(description="When its job or batch ended")
    attempts: list[WebhookAttempt]
    dispatch: int


class WebhookEventList(BaseModel):
    object: Literal["list"]
    data: list[WebhookEvent]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool


MODELS = {"WebhookDelivery": WebhookDelivery, "WebhookEvent": WebhookEvent, "WebhookEventList": WebhookEventList}


def paths(json_reply, errors) -> dict[str, Any]:
    """``json_reply(model, description)`` and ``errors(*codes)``: api/openapi.py's helpers."""
    event_id = [{"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}
    return {
        "/v1/webhooks/failed": {
            "get": {"summary": "The caller's webhook events given up on, newest first", "parameters": [limit],
                    "responses": {"200": json_reply("WebhookEventList", "Failed events"), **errors(400, 401, 503)}},
        },
        "/v1/webhooks/{event_id}": {
            "parameters": event_id,
            "get": {"summary": "A webhook event and its attempts",
                    "responses": {"200": json_reply("WebhookEvent", "The event"), **errors(401, 404, 503)}},
        },
        "/v1/webhooks/{event_id}/redeliver": {
            "parameters": event_id,
            "post": {"summary": "Send an ended webhook event again (same webhook-id)",
                     "responses": {"200": json_reply("WebhookEvent", "Pending again"), **errors(401, 404, 409, 503)}},
        },
    }  # fmt: skip
