"""A tenant's webhook events: one event's delivery state, the ones given up on, and trying one again."""

from __future__ import annotations

import time

from flask import Blueprint, abort, g

from api.auth import require_tenant
from api.errors import error_response
from api.services import services
from api.view_helpers import int_arg, openai_list

bp = Blueprint("webhooks", __name__, url_prefix="/v1")
bp.before_request(require_tenant)

SHOWN = ("id", "type", "url", "state", "at", "attempts", "dispatch")


def find_event(event_id: str) -> dict:
    event = services().outbox.get(event_id)
    if event is None or event["tenant"] != g.tenant:
        abort(404, f"webhook event {event_id!r} does not exist")
    return event


def shown(event: dict) -> dict:
    return {"object": "webhook.event", **{name: event[name] for name in SHOWN}, "subject_id": event["subject_id"]}


@bp.get("/webhooks/failed")
def failed_events():
    """The caller's webhook events given up on (every attempt failed, or the receiver answered 410), newest first."""
    events = services().outbox.failed(g.tenant, int_arg("limit", 100, 1, 1000))
    return openai_list([shown(event) for event in events], has_more=False)


@bp.get("/webhooks/<event_id>")
def get_event(event_id: str):
    """One webhook event (``msg_<job or batch id>``): its type, destination, state and every attempt."""
    return shown(find_event(event_id))


@bp.post("/webhooks/<event_id>/redeliver")
def redeliver(event_id: str):
    """Send an ended event again now (delivered or failed), with the same ``webhook-id``; 409 while it is pending."""
    event = find_event(event_id)
    if event["state"] == "pending":
        return error_response(409, "conflict", f"webhook event {event_id!r} is still being delivered")
    services().outbox.redeliver(event_id, g.tenant, time.time())
    return shown(find_event(event_id))
