"""Model-aware routing with real processes on the tests' Redis: the session's worker serves the default
model, workers started here serve a second model (a tiny randomly initialised Llama with the default's
tokenizer), and the session's API routes each request to a worker of its model."""

from __future__ import annotations

import os
import re
import signal
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest

from app.config import load_config
from app.jobs.model_catalog import ModelCatalog
from app.jobs.record import JobStatus
from app.jobs.routing import queue_for
from app.jobs.store import JobStore
from app.jobs.worker_registry import WorkerRegistry
from app.redis_conn import Keys, connect
from loadtest.tiny_model import make_tiny_llama
from tests.helpers.waiting import wait_until

TINY = {"prompt": "Say hi.", "max_tokens": 8, "temperature": 0}


@pytest.fixture(scope="module")
def tiny_env(config, stack_env, tmp_path_factory) -> dict[str, str]:
    folder = make_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama", config.model.source().path)
    # One task slot per worker, so two workers of the model split its jobs; a short lease, so a killed one's job moves on soon.
    return {**stack_env, "LLMJOBS_MODEL": str(folder), "LLMJOBS_WORKER_METRICS_PORT": "0", "LLMJOBS_WORKER_CONCURRENCY": "1",
            "LLMJOBS_LEASE_TTL": "3"}  # fmt: skip


@pytest.fixture(scope="module")
def registry(config) -> WorkerRegistry:
    return WorkerRegistry(connect(config.redis), Keys(config.redis.key_prefix), config.worker.heartbeat_interval_s)


class TinyWorkers:
    """Workers of the tiny model, started one by one; :meth:`stop` ends them all (gracefully)."""

    def __init__(self, start_process, env: dict[str, str], logs: Path, registry: WorkerRegistry) -> None:
        self.config = load_config(env)
        self.model = self.config.model.name
        self.queue = queue_for(self.config.worker.queue, self.model)
        self.start_process, self.env, self.logs, self.registry = start_process, env, logs, registry
        self.stack = ExitStack()

    def live(self) -> list[dict]:
        return self.registry.live(self.queue)

    def start(self):
        from app.cli.commands import worker_command

        count = len(self.live())
        log = self.logs / f"tiny-worker-{count}.log"
        ready = lambda: len(self.live()) > count  # noqa: E731
        proc = self.stack.enter_context(self.start_process("tiny worker", worker_command(self.config), self.env, log, ready))
        return proc, next(info["id"] for info in self.live() if info["pid"] == proc.pid)

    def stop(self) -> None:
        self.stack.close()


@pytest.fixture(scope="module")
def tiny(start_process, tiny_env, tmp_path_factory, registry):
    workers = TinyWorkers(start_process, tiny_env, tmp_path_factory.mktemp("tiny-logs"), registry)
    workers.start()
    yield workers
    workers.stop()


def submit(http, body: dict) -> str:
    response = http.post("/v1/jobs", json={"cache": False, **body})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_each_job_runs_on_a_worker_of_its_model(http, worker, tiny, registry, wait_for_job, config, france):
    default = config.model.name
    asked = [(default if i % 2 == 0 else tiny.model, i % 3 == 0) for i in range(6)]  # every third names its model explicitly
    ids = []
    for model, explicit in asked:
        body = {"prompt": france, "max_tokens": 8, "temperature": 0} if model == default else TINY
        ids.append(submit(http, {**body, **({"model": model} if explicit or model != default else {})}))
    models_of = {info["id"]: info["model"] for info in registry.live()}
    for job_id, (model, _) in zip(ids, asked, strict=True):
        job = wait_for_job(lambda i: http.get(f"/v1/jobs/{i}").json(), job_id)
        assert (job["status"], job["model"]) == ("succeeded", model), job
        assert models_of[job["worker"]] == model, (job["worker"], models_of)  # the record says who ran it

    listed = {card["id"]: card for card in http.get("/v1/models").json()["data"]}
    assert listed[default]["workers"] >= 1 and listed[tiny.model]["workers"] == 1 and listed[tiny.model]["slots"] == 1
    assert listed[tiny.model]["max_model_len"] == 2048 and listed[tiny.model]["owned_by"] == "llmjobs"
    for path, body in (("/v1/jobs", {**TINY, "model": "no-such-model"}),
                       ("/v1/chat/completions", {"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]})):  # fmt: skip
        response = http.post(path, json=body)
        assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found", response.text
    metrics = http.get("/metrics").text
    assert f'llmjobs_model_workers{{model="{tiny.model}"}} 1.0' in metrics, metrics[-2000:]


def test_killing_one_of_two_workers_of_a_model_leaves_the_other_finishing_its_jobs(http, tiny, wait_for_job):
    killed, killed_id = tiny.start()
    ids = [submit(http, {**TINY, "model": tiny.model, "max_tokens": 160, "ignore_eos": True}) for _ in range(4)]

    def running_on_killed() -> str | None:
        return next((i for i in ids if http.get(f"/v1/jobs/{i}").json()["worker"] == killed_id), None)

    taken = wait_until(running_on_killed, 60, what="a job to run on the second worker", interval=0.1)
    os.killpg(killed.pid, signal.SIGKILL)
    survivor = next(info["id"] for info in tiny.live() if info["id"] != killed_id)
    jobs = {i: wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), i) for i in ids}
    assert all(job["status"] == "succeeded" and job["usage"]["completion_tokens"] == 160 for job in jobs.values()), jobs
    assert jobs[taken]["worker"] == survivor and jobs[taken]["attempts"] == 2, jobs[taken]  # taken over after its lease lapsed
    assert {job["worker"] for job in jobs.values()} <= {survivor, killed_id}


def test_a_model_whose_workers_are_gone_is_a_503_unless_the_job_may_wait(http, tiny, wait_for_job):
    tiny.stop()
    refused = http.post("/v1/jobs", json={**TINY, "model": tiny.model})
    assert refused.status_code == 503 and refused.headers["Retry-After"], refused.text
    assert refused.json()["error"]["code"] == "model_unavailable"
    assert tiny.model not in {card["id"] for card in http.get("/v1/models").json()["data"]}
    waiting = submit(http, {**TINY, "model": tiny.model, "deadline_s": 3})  # with a deadline it waits in the model's queue
    assert http.get(f"/v1/jobs/{waiting}").json()["status"] == "queued"
    metrics = http.get("/metrics").text
    assert re.search(rf'llmjobs_model_jobs_queued{{model="{re.escape(tiny.model)}"}} [1-9]', metrics), metrics[-2000:]
    assert wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), waiting, timeout=30)["status"] == "expired"


def test_each_models_queued_and_running_jobs_are_counted(config):
    """The per-model counts an autoscaler reads, from the job store's own sets (every priority included)."""
    client, keys = connect(config.redis), Keys(f"routing-test-{uuid.uuid4().hex[:8]}")
    store = JobStore(client, keys, ttl_s=600)
    catalog = ModelCatalog(client, keys, WorkerRegistry(client, keys, 1.0), base_queue="q", default_model="a")
    jobs = [store.create({"prompt": "x", "priority": p}, tenant="", model=m) for m, p in (("a", 0), ("a", 9), ("a", 5), ("b", 5))]
    assert store.start(jobs[0]["id"], "w1").outcome == "started"
    load = catalog.load()
    assert (load["a"].queued, load["a"].running) == (2, 1) and "b" not in load  # b: no worker ever announced it
    store.finish(jobs[0]["id"], "w1", JobStatus.SUCCEEDED, output="")
    store.cancel(jobs[1]["id"])
    store.discard(jobs[2]["id"])
    assert (catalog.load()["a"].queued, catalog.load()["a"].running) == (0, 0)
    assert client.zcard(catalog.model_keys.jobs("b")) == 1
