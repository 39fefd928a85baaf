"""The webhook delivery task: one attempt at one event (app/webhooks/delivery.py does the work)."""

from __future__ import annotations

from celery import shared_task

from workers.celery_app import DELIVER_TASK
from workers.webhook_host import get_webhook_host


@shared_task(name=DELIVER_TASK)
def deliver_webhook(event_id: str, dispatch: int) -> str:
    """Sign and send event ``event_id`` (hand-over ``dispatch``); record the attempt and schedule what follows."""
    return get_webhook_host().deliverer.deliver(event_id, dispatch)
