"""Leases on running jobs, so a dead worker's jobs resume within seconds.

A worker that claims a job holds it for ``lease_ttl_s`` and renews the lease with each heartbeat.
When a lease lapses (its worker died, hung, or lost Redis for longer than that), the first live
process that looks (another worker's heartbeat, or an API process's reaper thread) puts the job
back in the queue, atomically and so exactly once, and sends its task again; the next attempt
continues after the tokens already streamed. The broker's visibility timeout stays as a backstop:
a late redelivery of a job taken over or finished is a no-op (the claim in app/jobs/scripts.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import redis

from app.jobs import lease_scripts
from app.jobs.record import priority_of
from app.redis_conn import Keys

log = logging.getLogger(__name__)

REAP_BATCH = 100  # jobs requeued per call at most: a mass takeover spreads over a few calls


class Leases:
    def __init__(self, client: redis.Redis, keys: Keys, lease_ttl_s: float) -> None:
        self.keys = keys
        self.lease_ttl_s = lease_ttl_s
        self._renew = client.register_script(lease_scripts.RENEW)
        self._reap = client.register_script(lease_scripts.REAP)

    def renew(self, worker_id: str, job_ids: Iterable[str]) -> list[str]:
        """Extend ``worker_id``'s leases on ``job_ids``; return the ids it no longer holds."""
        ids = list(job_ids)
        if not ids:
            return []
        expiry = repr(time.time() + self.lease_ttl_s)
        return list(self._renew(keys=[self.keys.leases, self.keys.job("")], args=[worker_id, expiry, *ids]))

    def reap(self) -> list[tuple[str, int]]:
        """Requeue the running jobs whose lease lapsed; return (id, priority) of each (to one caller only)."""
        flat = self._reap(keys=[self.keys.leases, self.keys.queued, self.keys.job("")], args=[repr(time.time()), REAP_BATCH])
        return [(job_id, priority_of(float(score))) for job_id, score in zip(flat[::2], flat[1::2], strict=True)]


class LeaseReaper:
    """Requeues jobs with lapsed leases and sends their tasks again (``send_task(job_id, priority)``).

    ``on_takeover`` runs after a takeover: a worker that died with running jobs most likely also held
    prefetched messages of jobs still queued, which the broker gives back only after its visibility
    timeout (minutes); sending every queued job's task again (app/jobs/resend.py) runs them now."""

    def __init__(self, leases: Leases, send_task: Callable[[str, int], None], on_takeover: Callable[[], object] | None = None) -> None:
        self.leases = leases
        self.send_task = send_task
        self.on_takeover = on_takeover
        self.num_requeued = 0

    def reap_once(self) -> list[str]:
        requeued = self.leases.reap()
        for job_id, priority in requeued:
            # If this send fails the job stays queued in the store, and the broker's redelivery of
            # its first message (the backstop) still runs it.
            self.send_task(job_id, priority)
            log.warning("job %s: its worker's lease lapsed; requeued", job_id)
        self.num_requeued += len(requeued)
        if requeued and self.on_takeover is not None:
            self.on_takeover()
        return [job_id for job_id, _ in requeued]
