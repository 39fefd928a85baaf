"""Entry module for ``celery -A workers.main worker`` (and Flower).

Run the worker with the threads pool (``llmjobs worker`` does): the task threads
share this process's engine host, which the signals below warm up and announce.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_ready, worker_shutdown

from app.config import load_config
from workers.celery_app import make_celery
from workers.engine_host import get_host

celery = make_celery(load_config())
celery.conf.include = ["workers.tasks"]


@worker_ready.connect
def _warm_up(**_: Any) -> None:
    get_host().start_heartbeat()


@worker_shutdown.connect
def _announce_exit(**_: Any) -> None:
    get_host().stop()
