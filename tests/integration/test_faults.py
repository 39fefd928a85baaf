"""Faults as behaviour, the quick subset of `python -m loadtest.chaos`: `llmjobs up` on its own Redis,
a worker killed with SIGKILL mid-generation, then its Redis killed the same way. Every accepted
job still ends succeeded, clients resuming with Last-Event-ID see no gap and no duplicate, outputs
equal an uninterrupted greedy run, and during the Redis outage a submit answers 503 with
Retry-After at once."""

from __future__ import annotations

import pytest

from loadtest.chaos import PROMPTS, judge, run_round
from loadtest.chaos_stack import Stack


@pytest.fixture(scope="module")
def chaos_stack(prepared_model, tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("chaos"), lease_ttl_s=3.0)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def reference(chaos_stack) -> dict[str, str]:
    clean = run_round(chaos_stack, PROMPTS[:4], 40, fault=None)
    return {prompt: clean["followed"][job_id].final["output"] for job_id, prompt in zip(clean["ids"], PROMPTS[:4], strict=True)}


def faulty_round(stack: Stack, reference: dict[str, str], fault: str) -> dict:
    round_ = run_round(stack, PROMPTS[:4], 40, fault=fault)
    round_["prompts"] = PROMPTS[:4]
    return {**judge(round_, reference), **{k: round_.get(k) for k in ("outage_answers", "new_job_ran_after_s", "new_job")}}


def test_worker_killed_mid_generation_loses_nothing(chaos_stack, reference):
    figures = faulty_round(chaos_stack, reference, "worker-kill")
    assert (figures["lost"], figures["gaps"], figures["duplicates"], figures["wrong_outputs"]) == (0, 0, 0, 0), figures
    chaos_stack.wait_ready(120)  # the supervisor started a new worker


def test_redis_killed_mid_generation_loses_nothing(chaos_stack, reference):
    figures = faulty_round(chaos_stack, reference, "redis-kill")
    assert (figures["lost"], figures["gaps"], figures["duplicates"], figures["wrong_outputs"]) == (0, 0, 0, 0), figures
    outage = figures["outage_answers"]
    assert all(a["status"] == 503 and a["retry_after"] and a["s"] < 1.0 for a in outage), outage
    assert figures["new_job"] == "succeeded", figures
