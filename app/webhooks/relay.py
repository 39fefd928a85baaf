"""Hands due webhook events to delivery tasks: every process that delivers runs one, and each due event goes to one
of them (outbox.CLAIM). A hand-over that is lost (the broker was away, the task's worker died) comes due again
when its lease lapses."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.webhooks.outbox import Outbox

log = logging.getLogger(__name__)

SendDelivery = Callable[[str, int], None]  # event id, dispatch number -> a delivery task sent


class Relay:
    def __init__(self, outbox: Outbox, send: SendDelivery, lease_s: float, *, clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self.send = send
        self.lease_s = lease_s
        self.clock = clock

    def run_once(self) -> int:
        handed = 0
        for event_id, dispatch in self.outbox.claim_due(self.clock(), self.lease_s):
            try:
                self.send(event_id, dispatch)
                handed += 1
            except Exception:  # whatever the broker client raises: the lease brings the event back, the relay goes on
                log.exception("webhook %s: could not send its delivery task; retried after %.0f s", event_id, self.lease_s)
        return handed
