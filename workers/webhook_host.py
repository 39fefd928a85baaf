"""What a webhook worker process holds: the stores it reads, the sender, and the relay that hands due events to the
delivery tasks. Built once per process, on first use; nothing here loads a model."""

from __future__ import annotations

import threading

from celery import Celery

from app.batches.store import BatchStore
from app.config import Config, load_config
from app.jobs.store import JobStore
from app.jobs.sweeper import Sweeper
from app.redis_conn import Keys, connect
from app.webhooks.delivery import Deliverer
from app.webhooks.outbox import Outbox
from app.webhooks.relay import Relay
from app.webhooks.sender import Sender
from workers.celery_app import make_celery, send_delivery

RELAY_INTERVAL_S = 0.02  # how often due events are looked for (one Redis call): a delivery waits half this, on average


class WebhookHost:
    def __init__(self, config: Config) -> None:
        client = connect(config.redis)
        keys = Keys(config.redis.key_prefix)
        jobs = JobStore(client, keys, config.job_ttl_s)
        batches = BatchStore(client, keys.prefix, config.job_ttl_s)
        self.outbox = Outbox(client, keys.prefix, config.webhooks.event_ttl_s)
        self.sender = Sender(config.webhooks.allow, config.webhooks.timeout_s, max_connections=config.webhooks.concurrency)
        self.deliverer = Deliverer(self.outbox, config.webhooks, read_job=jobs.get, read_batch=batches.get, sender=self.sender)
        celery: Celery = make_celery(config)
        relay = Relay(self.outbox, lambda event_id, dispatch: send_delivery(celery, event_id, dispatch), config.webhooks.lease_s)
        self.relay = Sweeper([relay.run_once], interval_s=RELAY_INTERVAL_S)

    def stop(self) -> None:
        self.relay.stop()
        self.sender.close()


_host: WebhookHost | None = None
_lock = threading.Lock()


def get_webhook_host() -> WebhookHost:
    global _host
    with _lock:
        if _host is None:
            _host = WebhookHost(load_config())
        return _host
