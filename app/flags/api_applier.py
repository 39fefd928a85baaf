"""Applying the API's rollback switches (today: ``semantic_cache``) in each API process."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from app.flags.store import FLAGS, FlagStore, poll_forever

log = logging.getLogger(__name__)


class ApiFlagApplier:
    def __init__(self, store: FlagStore, appliers: dict[str, Callable[[str], None]]) -> None:
        self.store = store
        self.appliers = appliers  # flag name -> what applies a new value
        self.process_id = f"api:{socket.gethostname()}:{os.getpid()}"
        self.applied: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmjobs-api-flags", daemon=True)

    def start(self) -> ApiFlagApplier:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        poll_forever(self.poll_once, self._stop)

    def poll_once(self) -> None:
        for name, (value, _) in self.store.effective().items():
            if FLAGS[name].where != "api" or self.applied.get(name, {}).get("value") == value:
                continue
            self.appliers[name](value)
            self.applied[name] = {"value": value, "at": time.time()}
            log.info("flag %s=%s applied", name, value)
        self.store.report(self.process_id, "api", self.applied)
