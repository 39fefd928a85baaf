"""LLMJOBS_TRACING=console: one trace per job from the API's submit span to the worker's span.
Its own API and worker on their own queue, so the shared test stack stays untraced."""

from __future__ import annotations

import re

from app.cli.commands import worker_command
from app.cli.embedded_redis import free_port
from tests.helpers.waiting import wait_until


def test_one_trace_spans_api_queue_and_worker(stack_env, prepared_model, tmp_path, private_stack, wait_for_job):
    env = {
        **stack_env,
        "LLMJOBS_TRACING": "console",
        "LLMJOBS_QUEUE": "llmjobs-test.traced",
        "LLMJOBS_PORT": str(free_port()),
        "LLMJOBS_WORKER_METRICS_PORT": "0",
        "LLMJOBS_ENGINE": "naive",
    }
    with private_stack(env, worker_command, tmp_path) as http:
        job_id = http.post("/v1/jobs", json={"prompt": "Say hi.", "temperature": 0, "max_tokens": 4}).json()["id"]
        assert wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id)["status"] == "succeeded"
        # Spans are exported in batches: wait for the worker's.
        wait_until(
            lambda: '"llmjobs.generate"' in (tmp_path / "worker.log").read_text(), 15, what="the worker's span in its log", interval=0.3
        )
    submit = _span((tmp_path / "api.log").read_text(), "llmjobs.submit", job_id)
    generate = _span((tmp_path / "worker.log").read_text(), "llmjobs.generate", job_id)
    assert submit["trace_id"] == generate["trace_id"]
    assert generate["parent_id"] == submit["span_id"]


def _span(log: str, name: str, job_id: str) -> dict[str, str]:
    """The console exporter's JSON for span ``name`` of ``job_id``: its ids."""
    for block in re.findall(r"\{\n    \"name\": \"" + re.escape(name) + r"\".*?\n\}", log, flags=re.S):
        if job_id in block:
            return {
                "trace_id": re.search(r'"trace_id": "(\w+)"', block).group(1),
                "span_id": re.search(r'"span_id": "(\w+)"', block).group(1),
                "parent_id": (re.search(r'"parent_id": "(\w+)"', block) or re.search("()", "")).group(1),
            }
    raise AssertionError(f"no {name} span for {job_id} in the log:\n{log[-3000:]}")
