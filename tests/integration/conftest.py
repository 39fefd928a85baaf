"""The real stack for integration tests: the tests' own redis-server on a free port,
a real Celery worker process with the real default model, and gunicorn serving the API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.cli.commands import api_command, worker_command
from app.cli.embedded_redis import EmbeddedRedis, free_port
from app.config import Config, load_config
from app.jobs.store import JobStore
from app.jobs.worker_registry import WorkerRegistry
from app.redis_conn import Keys, connect

FRANCE = "What is the capital of France? Answer in one sentence."
STARTUP_TIMEOUT_S = 180


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack_env(redis_server) -> dict[str, str]:
    """Environment for every process of the test stack (the developer's LLMJOBS_* left out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMJOBS_")}
    env.update(
        LLMJOBS_REDIS_URL=redis_server.url,
        LLMJOBS_KEY_PREFIX="llmjobs-test",
        LLMJOBS_QUEUE="llmjobs-test.generate",
        LLMJOBS_HEARTBEAT_INTERVAL="0.5",
        LLMJOBS_TASK_TIME_LIMIT="120",
        LLMJOBS_MAX_TOKENS="512",
        LLMJOBS_DEFAULT_MAX_TOKENS="64",
        LLMJOBS_PORT=str(free_port()),
        LLMJOBS_API_WORKERS="1",
        LLMJOBS_API_CONNECTIONS="400",
        LLMJOBS_WORKER_METRICS_PORT=str(free_port()),
        LLMJOBS_CACHE="off",  # the result cache has its own tests (test_result_cache.py), with their own API processes
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def prepared_model(stack_env) -> None:
    """Convert the default model once (a no-op when the cache already has it)."""
    subprocess.run([sys.executable, "-m", "app.cli", "prepare"], env=stack_env, check=True, timeout=600)


@pytest.fixture(scope="session")
def config(stack_env, prepared_model) -> Config:
    return load_config(stack_env)


@pytest.fixture(scope="session")
def keys(config) -> Keys:
    return Keys(config.redis.key_prefix)


@pytest.fixture(scope="session")
def job_store(config, keys) -> JobStore:
    return JobStore(connect(config.redis), keys, config.job_ttl_s)


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _fail_with_log(what: str, log: Path) -> None:
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    pytest.fail(f"{what}\n--- log tail ---\n{tail}")


def _start_and_wait(name: str, command: list[str], env: dict[str, str], log: Path, ready: Callable[[], bool]) -> subprocess.Popen:
    """Start a stack process and wait until ``ready()``; fail with its log if it dies or stalls."""
    proc = _spawn(command, env, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not ready():
        if proc.poll() is not None:
            _fail_with_log(f"the {name} exited with {proc.returncode}", log)
        if time.monotonic() > deadline:
            _stop(proc)
            _fail_with_log(f"the {name} was not ready within {STARTUP_TIMEOUT_S} s", log)
        time.sleep(0.2)
    return proc


@pytest.fixture(scope="session")
def worker(config, stack_env, tmp_path_factory) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process with the default model, live once its heartbeat shows."""
    registry = WorkerRegistry(connect(config.redis), Keys(config.redis.key_prefix), config.worker.heartbeat_interval_s)
    log = tmp_path_factory.mktemp("logs") / "worker.log"
    proc = _start_and_wait("worker", worker_command(config), stack_env, log, lambda: bool(registry.live(config.worker.queue)))
    yield proc
    _stop(proc)


def answers(url: str) -> Callable[[], bool]:
    """A readiness check: ``url`` answers 200."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return check


@pytest.fixture(scope="session")
def api_url(config, stack_env, tmp_path_factory) -> Iterator[str]:
    """The API under gunicorn, as `llmjobs api` runs it."""
    url = f"http://{config.api.host}:{config.api.port}"
    log = tmp_path_factory.mktemp("logs") / "api.log"
    proc = _start_and_wait("API", api_command(config), stack_env, log, answers(f"{url}/healthz"))
    yield url
    _stop(proc)


@pytest.fixture(scope="session")
def http(api_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def flask_app(config):
    """The same app in-process, for the Flask test client."""
    from api import create_app

    return create_app(config)


@pytest.fixture
def client(flask_app):
    return flask_app.test_client()


@contextmanager
def private_stack(env: dict[str, str], worker_command_of: Callable[[Config], list[str]], logs: Path) -> Iterator[httpx.Client]:
    """A worker and an API of their own (their own queue in ``env``), sharing the tests' Redis:
    for settings the session's stack must not have. Yields an HTTP client for the API."""
    config = load_config(env)
    registry = WorkerRegistry(connect(config.redis), Keys(config.redis.key_prefix), config.worker.heartbeat_interval_s)
    worker = _start_and_wait("worker", worker_command_of(config), env, logs / "worker.log", lambda: bool(registry.live(config.worker.queue)))
    url = f"http://{config.api.host}:{config.api.port}"
    try:
        api = _start_and_wait("API", api_command(config), env, logs / "api.log", answers(f"{url}/healthz"))
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                yield client
        finally:
            _stop(api)
    finally:
        _stop(worker)


def wait_for_job(get_record, job_id: str, timeout: float = 120) -> dict:
    """Poll until the job reaches a terminal status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = get_record(job_id)
        if record["status"] in ("succeeded", "failed", "cancelled"):
            return record
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s: {record}")
