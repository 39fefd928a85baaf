"""A batch under faults, the quick subset of `python -m loadtest.batch_chaos`: `llmjobs up` on its own
Redis (AOF), a batch run by the official `openai` client, and mid-batch a worker, the API's processes,
then Redis killed with SIGKILL. Each time the batch completes with every line exactly once in its
output file, answered as an uninterrupted greedy run answers it."""

from __future__ import annotations

import pytest

from loadtest.batch_chaos import STACK_ENV, batch_lines, judge, reference_of, run_batch
from loadtest.chaos_stack import Stack

LINES = batch_lines(12)


@pytest.fixture(scope="module")
def stack(prepared_model, tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("batch-chaos"), lease_ttl_s=3.0, env=STACK_ENV)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def reference(stack, tmp_path_factory) -> dict[str, str]:
    clean = run_batch(stack, LINES, None, tmp_path_factory.mktemp("clean"))
    assert judge(clean, LINES, {})["missing"] == 0
    return reference_of(clean)


@pytest.mark.parametrize("fault", ["worker-kill", "api-kill", "redis-kill"])
def test_every_line_ends_exactly_once_whatever_dies(stack, reference, fault, tmp_path):
    figures = judge(run_batch(stack, LINES, fault, tmp_path), LINES, reference)
    assert figures["status"] == "completed", figures
    assert (figures["missing"], figures["duplicates"], figures["failed"], figures["wrong_outputs"]) == (0, 0, 0, 0), figures
    stack.wait_ready(120)  # the supervisor brought the killed part back
