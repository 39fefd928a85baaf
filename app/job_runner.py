"""Running one job on an engine: claim it, generate, record the outcome.

The Celery task is a thin wrapper around :func:`run_job`; everything here is
plain Python over the job store and the engine interface.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from app.engine import Engine, GenerationRequest, TokenDelta
from app.errors import GenerationTimeoutError, InvalidRequestError
from app.jobs import JobStore
from app.prompts import PromptBuilder
from app.schemas import parse_job_request

log = logging.getLogger(__name__)

_NO_CAP = 1 << 30  # the API enforced LLMJOBS_MAX_TOKENS at submit time


def run_job(jobs: JobStore, engine: Engine, prompts: PromptBuilder, job_id: str, *, worker_id: str, default_max_tokens: int) -> str:
    """Run ``job_id`` to its end; return what became of it."""
    claim = jobs.start(job_id, worker_id)
    if claim.request is None:
        log.info("job %s not run: %s", job_id, claim.outcome)
        return claim.outcome
    created_at, started_at = claim.created_at, claim.started_at
    first_token_at: float | None = None

    def on_delta(delta: TokenDelta) -> None:
        nonlocal first_token_at
        if first_token_at is None and delta.token_ids:
            first_token_at = time.time()

    def timings() -> dict[str, Any]:
        now = time.time()
        return {
            "queue_wait_s": round(started_at - created_at, 4),
            "ttft_s": round(first_token_at - created_at, 4) if first_token_at else None,
            "generation_s": round(now - started_at, 4),
            "total_s": round(now - created_at, 4),
        }

    try:
        request = parse_job_request(claim.request, max_tokens=_NO_CAP)
        prompt_ids = prompts.token_ids(request)
        sampling = request.sampling(default_max_tokens)
        prompts.check_fits(len(prompt_ids), sampling.max_tokens)
        completion = engine.generate(GenerationRequest(job_id, prompt_ids, sampling), on_delta=on_delta)
    except (InvalidRequestError, GenerationTimeoutError) as exc:
        jobs.fail(job_id, worker_id, error={"type": type(exc).__name__, "message": str(exc)}, timings=timings())
        return "failed"
    except Exception as exc:
        # Anything else the model raises (CUDA OOM, a bad kernel, a bug) must still
        # end the job as failed rather than leave it "running" forever; the task
        # re-raises so Celery and Flower record the failure too.
        log.exception("job %s failed", job_id)
        jobs.fail(job_id, worker_id, error={"type": type(exc).__name__, "message": str(exc) or type(exc).__name__}, timings=timings())
        raise
    usage = {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.prompt_tokens + completion.completion_tokens,
    }
    jobs.succeed(job_id, worker_id, output=completion.text, finish_reason=completion.finish_reason, usage=usage, timings=timings())
    return "succeeded"
