"""The Celery app, built from the project's configuration.

The API builds one too, only to send tasks by name: it never imports the tasks
module or anything that loads a model. There is no result backend: a job's outcome lives in its
job record and event log (app/jobs/store.py), which is what clients read.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from app.config import Config, RedisConfig
from app.settings.redis_url import is_sentinel, parse_sentinel
from workers import kombu_fix

GENERATE_TASK = "llmjobs.generate"
DELIVER_TASK = "llmjobs.deliver_webhook"
PRIORITY_STEPS = list(range(10))
PRIORITY_SEP = ":"
UNACKED_KEY = "unacked"  # kombu's Redis transport: messages delivered and not yet acknowledged (its default name)


def queue_lists(queue: str) -> list[str]:
    """The Redis lists kombu keeps ``queue``'s waiting messages in, one per priority."""
    return [queue if step == 0 else f"{queue}{PRIORITY_SEP}{step}" for step in PRIORITY_STEPS]


def broker(config: RedisConfig) -> tuple[str, dict[str, Any]]:
    """kombu's broker URL and the transport options it needs for it: with Sentinel, the master's name and how to ask the sentinels."""
    if not is_sentinel(config.url):
        return config.url, {}
    sentinels: dict[str, Any] = {"socket_connect_timeout": 2.0, "socket_timeout": 5.0}  # kombu's own sentinel clients: no hang
    if config.sentinel_password:
        sentinels["password"] = config.sentinel_password
    return parse_sentinel(config.url).kombu_url(), {"master_name": config.sentinel_master, "sentinel_kwargs": sentinels}


def make_celery(config: Config) -> Celery:
    kombu_fix.apply()  # a worker outlives losing Redis under load (a Sentinel failover): see the module
    url, sentinel_options = broker(config.redis)
    app = Celery("llmjobs", broker=url)
    app.conf.update(
        # JSON only: a pickle message from anyone who can write to Redis would run code.
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # nobody reads Celery's results: no write per task to Redis
        # Ack after the task ends, and requeue if the worker dies mid-task: no accepted job is lost.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=config.worker.prefetch_multiplier,
        task_routes={GENERATE_TASK: {"queue": config.worker.queue}, DELIVER_TASK: {"queue": config.webhooks.queue}},
        task_default_queue=config.worker.queue,
        # Enforced by prefork pools; the engine enforces the same limit itself between decode steps.
        task_time_limit=config.worker.task_time_limit_s + 30,
        broker_transport_options={
            "visibility_timeout": config.worker.visibility_timeout_s,
            # One Redis list per priority 0..9, consumed lowest number first (the request's `priority`).
            "priority_steps": PRIORITY_STEPS,
            "sep": PRIORITY_SEP,
            "queue_order_strategy": "priority",
            "unacked_key": UNACKED_KEY,
            **sentinel_options,
        },
        task_default_priority=5,
        worker_send_task_events=True,  # for Flower
        task_send_sent_event=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


def send_generate(celery: Celery, job_id: str, priority: int = 5, headers: dict[str, str] | None = None, queue: str | None = None) -> None:
    """The task carries only the job id; the worker reads the request from the job store. ``queue``: the job's
    model's (app/jobs/routing.py: queue_for); None, the configured LLMJOBS_QUEUE."""
    routed = {"queue": queue} if queue else {}
    celery.send_task(GENERATE_TASK, args=[job_id], task_id=job_id, priority=priority, headers=headers or {}, **routed)


def send_delivery(celery: Celery, event_id: str, dispatch: int) -> None:
    """A webhook delivery task (its own queue, workers/webhook_main.py): the event's id and hand-over number only."""
    celery.send_task(DELIVER_TASK, args=[event_id, dispatch])
