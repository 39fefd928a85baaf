"""Running one job on an engine: claim it, generate while streaming events, record the outcome.

The Celery task is a thin wrapper around :meth:`JobRunner.run`; everything here
is plain Python over the job store, the event log and the engine interface.

A job whose worker died mid-way is redelivered and claimed again. Its event log
already holds the tokens the dead attempt streamed, so the new attempt
continues after them (they become part of the model's input) instead of
starting over: a client following the stream never sees a token twice or out
of order, and the log keeps one consistent history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.engine import Completion, Engine, GenerationRequest, LoraRef, SamplingParams, TokenDelta
from app.errors import GenerationTimeoutError, InvalidRequestError
from app.jobs.cancel_watcher import CancelWatcher
from app.jobs.event_publisher import EventPublisher
from app.jobs.events import TOKEN, EventLog, token_event
from app.jobs.prompts import PromptBuilder
from app.jobs.record import JobStatus
from app.jobs.request import parse_job_request
from app.jobs.store import JobStore
from app.obs.stats import JobOutcome

log = logging.getLogger(__name__)

_NO_CAP = 1 << 30  # the API enforced LLMJOBS_MAX_TOKENS at submit time


@dataclass
class JobRunner:
    jobs: JobStore
    events: EventLog
    publisher: EventPublisher
    engine: Engine
    prompts: PromptBuilder
    cancels: CancelWatcher
    worker_id: str
    default_max_tokens: int
    # Told how every claimed job ended (the worker records metrics, and successful answers in the result cache).
    on_end: Callable[[JobOutcome, Completion | None], None] | None = None

    def run(self, job_id: str) -> str:
        """Run ``job_id`` to its end; return what became of it."""
        claim = self.jobs.start(job_id, self.worker_id)
        if claim.request is None:
            log.info("job %s not run: %s", job_id, claim.outcome)
            return claim.outcome
        clock = _Clock(created_at=claim.created_at, started_at=claim.started_at)
        pending_tail: list[dict[str, Any]] = []
        last_ticket = -1

        def on_delta(delta: TokenDelta) -> None:
            nonlocal last_ticket
            if not delta.token_ids:  # text released at the end: published with the final event
                pending_tail.append(token_event(delta.text, []))
                return
            clock.token()
            logprobs = [lp.to_json() for lp in delta.logprobs] if delta.logprobs is not None else None
            prompt = [lp.to_json() if lp else None for lp in delta.prompt_logprobs] if delta.prompt_logprobs is not None else None
            last_ticket = self.publisher.publish(job_id, delta.index, token_event(delta.text, delta.token_ids, logprobs, prompt))

        cancelled = self.cancels.watch(job_id)
        deadline_s = claim.request.get("deadline_s") if isinstance(claim.request, dict) else None
        deadline_at = claim.created_at + deadline_s if isinstance(deadline_s, int | float) else None

        def should_stop() -> bool:  # polled between decode steps
            return (deadline_at is not None and time.time() >= deadline_at) or cancelled()

        try:
            request = parse_job_request(claim.request, max_tokens=_NO_CAP, stored=True)
            prompt_ids = self.prompts.token_ids(request)
            fields = request.sampling(self.default_max_tokens)
            sampling = SamplingParams(**{**fields, "stop": tuple(fields["stop"])})
            self.prompts.check_fits(len(prompt_ids), sampling.max_tokens)
            resume = [t for event in self.events.read(job_id) if event["type"] == TOKEN for t in event["token_ids"]]
            lora = LoraRef(request.lora.name, request.lora.path, request.lora.digest) if request.lora else None
            generation = GenerationRequest(job_id, prompt_ids, sampling, resume_token_ids=resume, priority=request.priority, lora=lora)
            completion = self.engine.generate(generation, on_delta=on_delta, should_stop=should_stop)
        except (InvalidRequestError, GenerationTimeoutError) as exc:
            self._fail(job_id, exc, clock)
            self._ended(clock.outcome(job_id, JobStatus.FAILED, None), None)
            return JobStatus.FAILED.value
        except Exception as exc:
            # Anything else the model raises (CUDA OOM, a bad kernel, a bug) must still
            # end the job as failed rather than leave it "running" forever; the task
            # re-raises so Celery and Flower record the failure too.
            log.exception("job %s failed", job_id)
            self._fail(job_id, exc, clock)
            self._ended(clock.outcome(job_id, JobStatus.FAILED, None), None)
            raise
        finally:
            self.cancels.forget(job_id)
            self.publisher.flush(last_ticket)  # the final event must follow every token event
        status, finish_reason = JobStatus.SUCCEEDED, completion.finish_reason
        if completion.finish_reason == "cancelled":  # stopped between steps: by its deadline, or a cancel
            expired = deadline_at is not None and time.time() >= deadline_at
            status, finish_reason = (JobStatus.EXPIRED, "expired") if expired else (JobStatus.CANCELLED, "cancelled")
        usage = {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        }
        finished = self.jobs.finish(
            job_id,
            self.worker_id,
            status,
            output=completion.text,
            finish_reason=finish_reason,
            usage=usage,
            timings=clock.timings(),
            last_event=pending_tail[-1] if pending_tail else None,
        )
        if finished:  # not ours to finish (cancelled meanwhile, or claimed by another worker): report nothing
            self._ended(clock.outcome(job_id, status, completion), completion)
        return status.value

    def _ended(self, outcome: JobOutcome, completion: Completion | None) -> None:
        if self.on_end is None:
            return
        try:
            self.on_end(outcome, completion)
        except Exception:  # the job's outcome is recorded already; a cache or metrics failure must not fail the task
            log.exception("after job %s ended", outcome.job_id)

    def _fail(self, job_id: str, exc: Exception, clock: _Clock) -> None:
        error = {"type": type(exc).__name__, "message": str(exc) or type(exc).__name__}
        self.jobs.finish(job_id, self.worker_id, JobStatus.FAILED, error=error, timings=clock.timings())


@dataclass
class _Clock:
    created_at: float
    started_at: float
    first_token_at: float | None = None
    last_token_at: float | None = None
    gaps: list[float] = field(default_factory=list)  # seconds between consecutive tokens

    def token(self) -> None:
        now = time.time()
        if self.first_token_at is None:
            self.first_token_at = now
        elif self.last_token_at is not None:
            self.gaps.append(now - self.last_token_at)
        self.last_token_at = now

    def outcome(self, job_id: str, status: JobStatus, completion: Completion | None) -> JobOutcome:
        return JobOutcome(
            job_id=job_id,
            status=status.value,
            finish_reason=completion.finish_reason if completion else None,
            prompt_tokens=completion.prompt_tokens if completion else 0,
            completion_tokens=completion.completion_tokens if completion else 0,
            queue_wait_s=self.started_at - self.created_at,
            ttft_s=self.first_token_at - self.created_at if self.first_token_at else None,
            e2e_s=time.time() - self.created_at,
            token_gaps_s=self.gaps,
        )

    def timings(self) -> dict[str, Any]:
        now = time.time()
        return {
            "queue_wait_s": round(self.started_at - self.created_at, 4),
            "ttft_s": round(self.first_token_at - self.created_at, 4) if self.first_token_at else None,
            "generation_s": round(now - self.started_at, 4),
            "total_s": round(now - self.created_at, 4),
        }
