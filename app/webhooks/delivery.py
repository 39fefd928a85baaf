"""Deliver one webhook event: the attempt a delivery task makes, and what follows from its outcome.

A 2xx delivers the event; a 410 gives up at once; anything else (another status, a timeout, a refused
connection) is tried again on the retry schedule, then given up. At least once: a task that dies before
recording its attempt leaves the event due again when its lease lapses, with the same ``webhook-id``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from app.webhooks.config import WebhookConfig
from app.webhooks.events import job_data, missing_job, payload
from app.webhooks.outbox import Outbox
from app.webhooks.schedule import retry_delay
from app.webhooks.sender import Attempt, Sender

log = logging.getLogger(__name__)

ReadRecord = Callable[[str], dict[str, Any] | None]  # a job's or batch's public record by id, None when gone


class Deliverer:
    def __init__(self, outbox: Outbox, config: WebhookConfig, *, read_job: ReadRecord, read_batch: ReadRecord,
                 sender: Sender, clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:  # fmt: skip
        self.outbox = outbox
        self.config = config
        self.read_job = read_job
        self.read_batch = read_batch
        self.sender = sender
        self.clock = clock
        self.rng = rng or random.Random()

    def deliver(self, event_id: str, dispatch: int) -> str:
        """Make one attempt at ``event_id`` for hand-over ``dispatch``; returns the event's state after it
        (``stale`` when a newer hand-over or an earlier attempt saw to it already)."""
        event = self.outbox.get(event_id)
        if event is None or event["state"] != "pending" or event["dispatch"] != dispatch:
            return "stale"
        body = event["payload"].encode() if event.get("payload") else self.outbox.body(event_id, self.build(event))
        secret = self.config.secret_for(event["tenant"])
        if secret:
            attempt = self.sender.send(event["url"], event_id, body, secret)
        else:  # the operator removed the secret since the webhook was accepted: nothing could verify a call
            attempt = Attempt(self.clock(), 0.0, error="no webhook secret is configured for this tenant")
        now = self.clock()
        delay = None if attempt.ok or attempt.gone or not secret else retry_delay(len(event["attempts"]) + 1, self.config.retry_s, self.rng)
        outcome = "delivered" if attempt.ok else "retry" if delay is not None else "failed"
        state = self.outbox.record(event, dispatch, attempt.as_dict(), outcome, next_at=now + (delay or 0), now=now)
        if outcome == "failed":
            log.warning("webhook %s to %s given up after %d attempts: %s", event_id, event["url"], len(event["attempts"]) + 1, attempt)
        return state

    def build(self, event: dict[str, Any]) -> bytes:
        """The body, from the record as it ended (read once, at the first attempt)."""
        subject = event["subject_id"]
        if event["type"].startswith("batch."):
            data = self.read_batch(subject) or {"id": subject, "object": "batch", "status": event["type"].split(".", 1)[1]}
            data = {name: value for name, value in data.items() if name != "webhook"}
        else:
            job = self.read_job(subject)
            url = f"{self.config.public_url}/v1/jobs/{subject}"
            cap = self.config.max_output_bytes
            data = missing_job(subject, event["type"]) if job is None else job_data(job, max_output_bytes=cap, job_url=url)
        return payload(event["type"], event["at"], data)
