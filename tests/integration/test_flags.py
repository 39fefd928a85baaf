"""Rollback switches against the real stack: the CLI, live application by the worker and the
API processes, a batching rollback while jobs stream, and a switch the machine cannot run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.config import load_config
from app.flags.store import FlagStore
from app.jobs.events import TOKEN, EventLog
from app.redis_conn import Keys, connect
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.usefixtures("worker", "api_url")


def flags(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", "flags", *args], env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def store(stack_env):
    config = load_config(stack_env)
    store = FlagStore(connect(config.redis), Keys(config.redis.key_prefix), config)
    yield store
    store.reset()

    def worker_back_to_configuration() -> bool:
        workers = [r for r in store.reports().values() if r["role"] == "worker"]
        return bool(workers) and all(
            r["flags"]["batching"]["value"] == "on" and r["flags"]["attention"]["value"] == "auto" for r in workers
        )

    # Leave the worker as the other tests expect it.
    wait_until(worker_back_to_configuration, 120, what="the worker to return to its configured flags", interval=0.2)


def test_set_rollback_reset_round_trip_and_bad_input(store, stack_env):
    assert flags(stack_env, "set", "prefix_cache", "off").returncode == 0
    assert store.effective()["prefix_cache"] == ("off", "override")
    assert flags(stack_env, "rollback", "semantic_cache").returncode == 0
    assert store.effective()["semantic_cache"] == ("off", "override")
    listing = flags(stack_env, "list").stdout
    assert "prefix_cache    off               override" in listing and "applied by:" in listing
    before = store.overrides()
    for bad in (("set", "batching", "maybe"), ("set", "nope", "on"), ("rollback", "nope")):
        result = flags(stack_env, *bad)
        assert result.returncode == 2 and ("takes on, off" in result.stderr or "invalid choice" in result.stderr)
    assert store.overrides() == before  # nothing changed
    assert flags(stack_env, "reset").returncode == 0
    assert store.overrides() == {}


def test_live_switches_reach_the_worker_and_the_api(store, stack_env):
    result = flags(stack_env, "set", "prefix_cache", "off", "--wait", "20")
    assert result.returncode == 0 and "applied by 1/1 worker" in result.stdout
    result = flags(stack_env, "rollback", "semantic_cache", "--wait", "20")
    assert result.returncode == 0 and "api process" in result.stdout


def test_batching_rollback_while_jobs_stream_loses_nothing(store, stack_env, http, job_store, wait_for_job):
    ids = [
        http.post("/v1/jobs", json={"prompt": f"Count to {n}.", "temperature": 0, "max_tokens": 40, "ignore_eos": True}).json()["id"]
        for n in range(6)
    ]
    events = EventLog(job_store.redis, job_store.keys, ttl_s=600)
    wait_until(lambda: any(e["type"] == TOKEN for e in events.read(ids[0])), 60, what="the first job's first token")  # jobs are streaming
    result = flags(stack_env, "rollback", "batching", "--wait", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    more = [http.post("/v1/jobs", json={"prompt": f"Name {n} colours.", "temperature": 0, "max_tokens": 12}).json()["id"] for n in range(3)]
    jobs = [wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id) for job_id in ids + more]
    assert [j["status"] for j in jobs] == ["succeeded"] * 9
    assert all(j["usage"]["completion_tokens"] == 40 for j in jobs[:6])
    workers = http.get("/readyz").json()["workers"]
    assert [w["engine"] for w in workers] == ["naive"]
    print(result.stdout.strip())  # the measured time, in the test log


def test_a_switch_the_machine_cannot_run_keeps_the_old_engine(store, stack_env, http, wait_for_job):
    result = flags(stack_env, "set", "attention", "flash_attention_2", "--wait", "60")
    assert result.returncode == 1 and "applied by 0/1 worker" in result.stdout
    assert "FAILED" in flags(stack_env, "list").stdout and "flash-attn" in flags(stack_env, "list").stdout
    job_id = http.post("/v1/jobs", json={"prompt": "Say hi.", "temperature": 0, "max_tokens": 8}).json()["id"]
    assert wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id)["status"] == "succeeded"


def test_draft_model_speculation_without_a_draft_is_refused_and_reported(store, stack_env, http, wait_for_job):
    result = flags(stack_env, "set", "speculative", "draft-model", "--wait", "20")
    assert result.returncode == 1 and "applied by 0/1 worker" in result.stdout
    listing = flags(stack_env, "list").stdout
    assert "FAILED" in listing and "LLMJOBS_DRAFT_MODEL" in listing
    job_id = http.post("/v1/jobs", json={"prompt": "Say hi.", "temperature": 0, "max_tokens": 8}).json()["id"]
    assert wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id)["status"] == "succeeded"
