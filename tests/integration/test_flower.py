"""Celery Flower, as `llmjobs up` starts it, sees the worker and its finished tasks."""

from __future__ import annotations

import httpx
import pytest

from app.cli.commands import FLOWER_ENV, flower_command
from app.cli.embedded_redis import free_port
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.usefixtures("worker")


def test_flower_lists_the_worker_and_finished_tasks(config, stack_env, http, tmp_path, france, start_process, wait_for_job):
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def workers() -> dict:
        return httpx.get(f"{url}/api/workers", params={"refresh": "true"}, timeout=10).json()

    def finished_task() -> dict | None:
        if not httpx.get(f"{url}/api/tasks", timeout=5).json().get(job_id):
            return None
        task = httpx.get(f"{url}/api/task/info/{job_id}", timeout=5).json()
        return task if task.get("state") == "SUCCESS" else None

    command = [part if not part.startswith("--port=") else f"--port={port}" for part in flower_command(config)]
    with start_process("Flower", command, {**stack_env, **FLOWER_ENV}, tmp_path / "flower.log", f"{url}/healthcheck"):
        # Flower hears task events only once it is connected to the broker: a task sent before
        # that would show up without its name. Wait until it sees the worker.
        wait_until(workers, 30, what="Flower to see the worker", interval=0.5)
        job_id = http.post("/v1/jobs", json={"prompt": france, "temperature": 0, "max_tokens": 8}).json()["id"]
        assert wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id)["status"] == "succeeded"
        task = wait_until(finished_task, 30, what=f"Flower to show task {job_id} as SUCCESS", interval=0.5)
        assert task["name"] == "llmjobs.generate" and job_id in task["args"]  # the job id, readable
        assert any(name.startswith("llmjobs-") for name in workers())
