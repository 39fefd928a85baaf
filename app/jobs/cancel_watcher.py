"""Lets running jobs notice, between decode steps, that the API asked to cancel them.

The API publishes the job id on one pub/sub channel; a listener thread per
worker process flips that job's flag, so the per-step check is a local read.
Pub/sub drops messages while a connection is down, so each check also looks at
the job record in Redis, at most once per ``poll_interval_s``.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from app.jobs.store import JobStore

log = logging.getLogger(__name__)


class CancelWatcher:
    def __init__(self, jobs: JobStore, poll_interval_s: float = 1.0) -> None:
        self.jobs = jobs
        self.poll_interval_s = poll_interval_s
        self._flags: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name="llmjobs-cancel-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)

    def watch(self, job_id: str):
        """Start watching ``job_id``; return its ``should_stop()`` check."""
        flag = threading.Event()
        with self._lock:
            self._flags[job_id] = flag
        last_poll = time.monotonic()

        def should_stop() -> bool:
            nonlocal last_poll
            if flag.is_set():
                return True
            now = time.monotonic()
            if now - last_poll >= self.poll_interval_s:
                last_poll = now
                try:
                    if self.jobs.is_cancel_requested(job_id):
                        flag.set()
                except redis.RedisError as exc:
                    log.warning("cancel check for %s failed: %s", job_id, exc)
            return flag.is_set()

        return should_stop

    def watched(self) -> list[str]:
        """The jobs running in this process now (their leases are renewed with the heartbeat)."""
        with self._lock:
            return list(self._flags)

    def interrupt(self, job_id: str) -> None:
        """Stop a job at its next step from this side (its lease went to another worker)."""
        with self._lock:
            flag = self._flags.get(job_id)
        if flag is not None:
            flag.set()

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._flags.pop(job_id, None)

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self.jobs.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.jobs.keys.cancel_channel)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        with self._lock:
                            flag = self._flags.get(message["data"])
                        if flag is not None:
                            flag.set()
            except redis.RedisError as exc:
                log.warning("cancel listener lost Redis (%s); retrying", exc)
                self._stop.wait(1.0)
            finally:
                pubsub.close()
