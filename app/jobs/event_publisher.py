"""Sends the token events of every running job to Redis in one pipeline per batch.

With a batching engine, each decode step yields one token for every running job
at once; writing them one round trip each would cost as many round trips as
there are jobs. Task threads hand their events over without waiting, and one
thread sends whatever has accumulated (typically one engine step's worth) in a
single pipeline. :meth:`flush` waits until an event handed over earlier is in
Redis, so a job's final event is never written before its tokens.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

import redis

from app.jobs.events import EventLog

log = logging.getLogger(__name__)

RETRY_S = 0.5


class EventPublisher:
    def __init__(self, events: EventLog) -> None:
        self.events = events
        self._pending: deque[tuple[int, str, int, dict[str, Any]]] = deque()
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._sent_upto = -1  # every ticket <= this is in Redis
        self._thread = threading.Thread(target=self._run, name="llmjobs-event-publisher", daemon=True)
        self._thread.start()

    def publish(self, job_id: str, index: int, event: dict[str, Any]) -> int:
        """Queue one event; returns a ticket for :meth:`flush`."""
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._pending.append((ticket, job_id, index, event))
            self._cond.notify_all()
            return ticket

    def flush(self, ticket: int | None = None, timeout: float = 60.0) -> bool:
        """Wait until ``ticket`` (default: everything queued so far) has been written."""
        with self._cond:
            target = self._next_ticket - 1 if ticket is None else ticket
            return self._cond.wait_for(lambda: self._sent_upto >= target, timeout=timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending))
                batch = list(self._pending)
                self._pending.clear()
            while True:
                try:
                    self.events.publish_many([(job_id, index, event) for _, job_id, index, event in batch])
                    break
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    # Never drop an event: a reader would wait forever for the missing index.
                    log.warning("publishing %d events failed (%s); retrying", len(batch), exc)
                    threading.Event().wait(RETRY_S)
            with self._cond:
                self._sent_upto = batch[-1][0]
                self._cond.notify_all()
