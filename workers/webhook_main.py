"""Entry module for ``celery -A workers.webhook_main worker`` (``llmjobs webhooks worker``): webhook deliveries only.

Run with the gevent pool: a delivery mostly waits on a receiver (up to LLMJOBS_WEBHOOK_TIMEOUT), so one process
keeps many in flight. It imports no model code.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_ready, worker_shutdown

from app.config import load_config
from workers.celery_app import make_celery
from workers.webhook_host import get_webhook_host

celery = make_celery(load_config())
celery.conf.include = ["workers.webhook_tasks"]


@worker_ready.connect
def _start_relay(**_: Any) -> None:
    get_webhook_host().relay.start()


@worker_shutdown.connect
def _stop(**_: Any) -> None:
    get_webhook_host().stop()
