"""Job records in Redis: one hash per job plus a sorted set that orders the queue.

State changes that must not race (a redelivered task against its first run, a
late finish against a cancel) run as Lua scripts (app/scripts.py), so each
is one atomic step that also writes the job's final event.
A poll is one round trip: HGETALL and ZRANK in a pipeline.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from app.jobs import scripts
from app.jobs.events import encode, final_event, stream_id, token_event
from app.jobs.record import (
    DEFAULT_PRIORITY,
    JSON_FIELDS,
    TERMINAL,
    JobStatus,
    cancelled_event,
    expired_event,
    new_fields,
    new_job_id,
    queue_score,
    settled,
    unpacked,
    view,
)
from app.jobs.replica_wait import ReplicaWait
from app.jobs.routing import ModelKeys
from app.redis_conn import Keys
from app.webhooks.events import event_id
from app.webhooks.outbox import Destination, Outbox, decoded

EXISTS = 2  # what create() answers when a job of that id is stored already
LEADER_WAIT_TRIES = 100  # x 10 ms: then the leader is taken to have died before storing its job


@dataclass(frozen=True)
class Claim:
    outcome: str  # "started", or why not: "missing", "running_elsewhere", a terminal status
    request: dict[str, Any] | None = None
    created_at: float = 0.0
    started_at: float = 0.0


class JobStore:
    def __init__(
        self, client: redis.Redis, keys: Keys, ttl_s: int, lease_ttl_s: float = 10.0, events_ttl_s: int | None = None,
        replica_wait: ReplicaWait | None = None,
    ) -> None:  # fmt: skip
        self.redis = client
        self.replica_wait = replica_wait  # LLMJOBS_REDIS_WAIT_REPLICAS: a new job waits for replicas to hold it
        self.keys = keys
        self.ttl_s = ttl_s  # an ended job's record
        # An ended job's event stream (only streaming and resume need it); given where jobs are submitted.
        self.events_ttl_s = events_ttl_s or ttl_s
        self.lease_ttl_s = lease_ttl_s  # how long a claimed job is its worker's without a renewal
        self.model_keys = ModelKeys(keys.prefix)
        self._start = client.register_script(scripts.START)
        self._finish = client.register_script(scripts.FINISH)
        self._cancel = client.register_script(scripts.CANCEL)
        self._cancel_follower = client.register_script(scripts.CANCEL_FOLLOWER)
        self._follow = client.register_script(scripts.FOLLOW)
        self._create = client.register_script(scripts.CREATE)
        self._take_ticket = client.register_script(scripts.TAKE_TICKET)
        self.outbox = Outbox(client, keys.prefix)

    def create(
        self, request: dict[str, Any], *, tenant: str, model: str, job_id: str | None = None, cache_ticket: str | None = None,
        max_queued: int = 0, max_active: int = 0, cache_mode: str = "", webhook: Destination | None = None, batch_id: str | None = None,
    ) -> dict[str, Any] | int:  # fmt: skip
        """Store a new queued job and return its record; or, refused, 0 when ``max_queued`` jobs
        already wait, -1 when the tenant has ``max_active`` jobs queued or running, :data:`EXISTS` when
        a job of ``job_id`` is stored already. ``cache_ticket``
        tells the worker where to cache the answer once it succeeds."""
        job_id = job_id or new_job_id()
        now = time.time()
        fields = new_fields(job_id, request, tenant, model, now, JobStatus.QUEUED.value)
        if cache_ticket:
            fields["cache_ticket"] = cache_ticket
        if cache_mode:
            fields["cache_mode"] = cache_mode  # off | exact | semantic: how strict the result cache was for it
        if batch_id:
            fields["batch_id"] = batch_id  # a batch line's job: listed and filtered by its batch
        if webhook is not None:  # read by whichever script ends the job (scripts.finalize)
            fields.update(webhook=webhook.url, webhook_ttl=webhook.ttl_s)
        if self.events_ttl_s != self.ttl_s:
            fields["events_ttl"] = self.events_ttl_s  # read by whichever process ends the job (scripts.finalize)
        deadline = repr(now + request["deadline_s"]) if request.get("deadline_s") else ""
        if deadline:
            fields["deadline_at"] = deadline
        # Priority first, then submit time: ZRANK is the queue position, and a requeued job keeps its place.
        fields["queue_score"] = repr(queue_score(request.get("priority", DEFAULT_PRIORITY), now))
        flat = [item for pair in fields.items() for item in pair]
        pipe = None if self.replica_wait is None else self.redis.pipeline(transaction=False)
        created = self._create(
            keys=[
                self.keys.job(job_id),
                self.keys.queued,
                self.keys.deadlines,
                self.keys.active(tenant),
                self.model_keys.jobs(model),
                self.keys.tenant_jobs(tenant),
            ],
            args=[max_queued, self.ttl_s, fields["queue_score"], job_id, deadline, max_active, repr(now), *flat],
            client=self.redis if pipe is None else pipe,
        )
        if pipe is not None:  # the script, then WAIT on the same connection
            created = self.replica_wait.execute(pipe, job_id)
        return view(fields, queue_rank=None) if created == 1 else created

    def create_cached(
        self, request: dict[str, Any], *, tenant: str, model: str, output: str, finish_reason: str, usage: dict[str, int],
        token_ids: list[int], cache: dict[str, Any], cache_mode: str = "", job_id: str | None = None, webhook: Destination | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Store a job answered from the cache: already succeeded, its text in its event log like any job's."""
        job_id = job_id or new_job_id()
        now = time.time()
        fields = new_fields(job_id, request, tenant, model, now, JobStatus.SUCCEEDED.value)
        timings = {"queue_wait_s": 0.0, "ttft_s": 0.0, "generation_s": 0.0, "total_s": 0.0}
        fields.update(
            started_at=repr(now),
            finished_at=repr(now),
            output=output,
            finish_reason=finish_reason,
            usage=_compact(usage),
            timings=_compact(timings),
            cache=_compact(cache),
        )
        if cache_mode:
            fields["cache_mode"] = cache_mode
        if webhook is not None:
            fields["webhook"] = webhook.url
        final = final_event(
            status=JobStatus.SUCCEEDED.value, finish_reason=finish_reason, output=output, usage=usage, timings=timings, error=None
        )
        events = self.keys.events(job_id)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.job(job_id), mapping=settled(fields))
            pipe.expire(self.keys.job(job_id), self.ttl_s)
            pipe.xadd(events, {"data": encode(token_event(output, token_ids))}, id=stream_id(0))
            pipe.xadd(events, {"data": encode(final)}, id=stream_id(1))
            pipe.expire(events, self.events_ttl_s)
            pipe.zadd(self.keys.tenant_jobs(tenant), {job_id: now})
            if webhook is not None:  # its end is now: announced in the same transaction
                self.outbox.enqueue(pipe, job_id, "job.succeeded", webhook.url, tenant, now, webhook.ttl_s)
            pipe.execute()
        return self.get(job_id) if webhook is not None else view(fields, queue_rank=None)

    def create_follower(self, leader_id: str, request: dict[str, Any], *, tenant: str, model: str) -> dict[str, Any] | None:
        """A job that shares the running ``leader_id``'s answer instead of computing it again;
        None if the leader has ended (or its own client cancelled it) meanwhile."""
        job_id = new_job_id()
        fields = new_fields(job_id, request, tenant, model, time.time(), "following")
        fields["follows"] = leader_id
        flat = [item for pair in fields.items() for item in pair]
        for _ in range(LEADER_WAIT_TRIES):  # the leader stores its record right after claiming the work
            keys = [self.keys.job(job_id), self.keys.job(leader_id), self.keys.tenant_jobs(tenant)]
            followed = self._follow(keys=keys, args=[*flat, self.ttl_s])
            if followed != -1:
                break
            time.sleep(0.01)
        return self.get(job_id) if followed == 1 else None

    def take_cache_ticket(self, job_id: str) -> str | None:
        """An ended job's cache ticket, for its worker to record the answer; only its exact key stays (what erasing
        the job needs), not a second copy of the prompt text and embedding for the job's ttl."""
        return self._take_ticket(keys=[self.keys.job(job_id)])

    def exists(self, job_id: str) -> bool:
        return bool(self.redis.exists(self.keys.job(job_id)))

    def discard(self, job_id: str) -> None:
        """Remove a job whose enqueueing failed, so no record promises work that never comes."""
        model = self.redis.hget(self.keys.job(job_id), "model")
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.job(job_id))
            pipe.zrem(self.keys.queued, job_id)
            if model:
                pipe.zrem(self.model_keys.jobs(model), job_id)
            pipe.execute()

    def get(self, job_id: str, *, tenant: str | None = None, detached_ok: bool = False) -> dict[str, Any] | None:
        """The job's public record, or None if unknown (or another tenant's).

        ``detached_ok``: show a job its own client cancelled as it really is (for its followers)."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.job(job_id))
            pipe.zrank(self.keys.queued, job_id)
            pipe.hgetall(self.outbox.key(event_id(job_id)))
            fields, rank, event = pipe.execute()
        if not fields or (tenant is not None and fields.get("tenant", "") != tenant):
            return None
        fields = {"id": job_id, **unpacked(fields)}
        if fields["status"] == "following":  # show the leader's progress under this job's own id
            leader = self.get(fields["follows"], detached_ok=True)
            if leader is None:
                return None
            return {
                **leader,
                "id": fields["id"],
                "created_at": float(fields["created_at"]),
                "request": json.loads(fields["request"]),
                "coalesced_with": fields["follows"],
            }
        event = decoded(event, event_id(job_id))
        return view(fields, queue_rank=rank, detached=fields.get("owner_cancelled") == "1" and not detached_ok, webhook_event=event)

    def start(self, job_id: str, worker_id: str) -> Claim:
        """Claim a job for running; ``Claim.request`` is None when it must not run."""
        now = time.time()
        reply = self._start(
            keys=[
                self.keys.job(job_id),
                self.keys.queued,
                self.keys.worker(""),
                self.keys.events(job_id),
                self.keys.leases,
                self.keys.started,
            ],
            args=[
                job_id,
                repr(now),
                worker_id,
                self.ttl_s,
                encode(cancelled_event()),
                repr(now + self.lease_ttl_s),
                encode(expired_event()),
            ],
        )
        if reply[0] != "started":
            return Claim(outcome=reply[0])
        try:
            request = json.loads(reply[1])
        except (TypeError, ValueError):
            request = {"invalid": reply[1]}  # let the runner fail the job with a clear error
        return Claim(outcome="started", request=request, created_at=float(reply[2] or now), started_at=now)

    def finish(
        self,
        job_id: str,
        worker_id: str,
        status: JobStatus,
        *,
        output: str | None = None,
        finish_reason: str | None = None,
        usage: dict[str, int] | None = None,
        timings: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
        last_event: dict[str, Any] | None = None,
    ) -> bool:
        """End a running job: record, optional last token event and final event, atomically."""
        assert status in TERMINAL, status
        fields: dict[str, Any] = {"status": status.value, "finished_at": repr(time.time())}
        for name, value in (("output", output), ("finish_reason", finish_reason), ("usage", usage), ("timings", timings), ("error", error)):
            if value is not None:
                fields[name] = _compact(value) if name in JSON_FIELDS else value
        final = final_event(status=status.value, finish_reason=finish_reason, output=output, usage=usage, timings=timings, error=error)
        flat = [item for pair in fields.items() for item in pair]
        return bool(
            self._finish(
                keys=[self.keys.job(job_id), self.keys.events(job_id), self.keys.leases],
                args=[self.ttl_s, worker_id, encode(last_event) if last_event else "", encode(final), job_id, *flat],
            )
        )

    def cancel(self, job_id: str) -> str:
        """Cancel a job: "dequeued" (it was waiting: now cancelled), "cancelling" (its worker is told),
        "detached" (others coalesced onto it: it goes on for them), or its terminal status."""
        leader = self.redis.hget(self.keys.job(job_id), "follows")
        if leader:
            return self._cancel_follower(
                keys=[self.keys.job(job_id), self.keys.job(leader), self.keys.queued, self.keys.events(leader)],
                args=[leader, repr(time.time()), self.ttl_s, encode(cancelled_event()), self.keys.cancel_channel],
            )
        return self._cancel(
            keys=[self.keys.job(job_id), self.keys.queued, self.keys.events(job_id)],
            args=[job_id, repr(time.time()), self.ttl_s, encode(cancelled_event()), self.keys.cancel_channel],
        )

    def is_cancel_requested(self, job_id: str) -> bool:
        return self.redis.hget(self.keys.job(job_id), "cancel_requested") == "1"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
