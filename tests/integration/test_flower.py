"""Celery Flower, started as `llmjobs up` starts it, sees the worker and its finished tasks."""

from __future__ import annotations

import time

import httpx
import pytest

from app.cli.commands import FLOWER_ENV, flower_command
from app.cli.embedded_redis import free_port
from tests.integration.conftest import FRANCE, _start_and_wait, _stop, answers, wait_for_job

pytestmark = pytest.mark.usefixtures("worker")


def test_flower_lists_the_worker_and_finished_tasks(config, stack_env, http, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    command = [part if not part.startswith("--port=") else f"--port={port}" for part in flower_command(config)]
    proc = _start_and_wait("Flower", command, {**stack_env, **FLOWER_ENV}, tmp_path / "flower.log", answers(f"{url}/healthcheck"))
    try:
        # Flower hears task events only once it is connected to the broker: a task sent before
        # that would show up without its name. Wait until it sees the worker.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not httpx.get(f"{url}/api/workers", params={"refresh": "true"}, timeout=10).json():
            time.sleep(0.5)
        job_id = http.post("/v1/jobs", json={"prompt": FRANCE, "temperature": 0, "max_tokens": 8}).json()["id"]
        assert wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id)["status"] == "succeeded"
        deadline = time.monotonic() + 30
        task = None
        while time.monotonic() < deadline and not (task and task.get("state") == "SUCCESS"):
            time.sleep(0.5)
            task = httpx.get(f"{url}/api/task/info/{job_id}", timeout=5).json() if httpx.get(f"{url}/api/tasks", timeout=5).json().get(job_id) else None
        assert task and task["state"] == "SUCCESS", task
        assert task["name"] == "llmjobs.generate" and job_id in task["args"]  # the job id, readable
        workers = httpx.get(f"{url}/api/workers", params={"refresh": "true"}, timeout=10).json()
        assert any(name.startswith("llmjobs-") for name in workers)
    finally:
        _stop(proc)
