"""The real stack for integration tests: the tests' own redis-server on a free port,
a real Celery worker process with the real default model, and gunicorn serving the API.

Tests share what they need through the fixtures below (never by importing this module or another
test module): ``france``, ``engine_questions``, ``wait_for_job``, ``wait_for_task``,
``start_process``, ``private_stack`` and ``webhook_receiver``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest
from flask import Flask

from app.cli.commands import api_command, worker_command
from app.cli.embedded_redis import EmbeddedRedis, free_port
from app.config import Config, load_config
from app.jobs.record import TERMINAL
from app.jobs.store import JobStore
from app.jobs.worker_registry import WorkerRegistry
from app.redis_conn import Keys, connect
from loadtest.webhook_receiver import Receiver
from tests.helpers.engine_runs import QUESTIONS
from tests.helpers.waiting import wait_until

FRANCE = "What is the capital of France? Answer in one sentence."
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STARTUP_TIMEOUT_S = 180
JOB_TIMEOUT_S = 120

Ready = Callable[[], bool] | str  # a readiness check, or a URL that must answer 200


@pytest.fixture(scope="session")
def france() -> str:
    """The prompt whose greedy answer is "The capital of France is Paris."."""
    return FRANCE


@pytest.fixture(scope="session")
def engine_questions() -> list[str]:
    """Six short chat questions of different kinds, for in-process engine runs."""
    return list(QUESTIONS)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack_env(redis_server, tmp_path_factory) -> dict[str, str]:
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
        LLMJOBS_FILES_DIR=str(tmp_path_factory.mktemp("files")),
        # Webhooks to the tests' receiver on loopback (allowed by its port), retried within seconds.
        LLMJOBS_WEBHOOK_SECRET=WEBHOOK_SECRET,
        LLMJOBS_WEBHOOK_ALLOW=f"127.0.0.1:{free_port()}",
        LLMJOBS_WEBHOOK_RETRY_S="0.3,0.6,1,1,1",
        LLMJOBS_WEBHOOK_TIMEOUT="1",
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


# --- processes ---


def _answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else ""


def _start_and_wait(name: str, command: list[str], env: dict[str, str], log: Path, ready: Ready) -> subprocess.Popen:
    """Start a stack process and wait until it is ready; fail with its log if it dies or stalls."""
    check = _answers(ready) if isinstance(ready, str) else ready
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def ready_or_dead() -> bool:
        return proc.poll() is not None or check()

    try:
        wait_until(ready_or_dead, STARTUP_TIMEOUT_S, what=f"the {name} to be ready", interval=0.2)
    except AssertionError:
        _stop(proc)
        pytest.fail(f"the {name} was not ready within {STARTUP_TIMEOUT_S} s\n--- log tail ---\n{_log_tail(log)}")
    if proc.poll() is not None:
        pytest.fail(f"the {name} exited with {proc.returncode}\n--- log tail ---\n{_log_tail(log)}")
    return proc


@pytest.fixture(scope="session")
def start_process() -> Callable[..., AbstractContextManager[subprocess.Popen]]:
    """``with start_process(name, command, env, log, ready) as proc:`` a process of the stack,
    ready (``ready``: a check, or a URL that must answer 200) and stopped on leaving."""

    @contextmanager
    def start(name: str, command: list[str], env: dict[str, str], log: Path, ready: Ready) -> Iterator[subprocess.Popen]:
        proc = _start_and_wait(name, command, env, log, ready)
        try:
            yield proc
        finally:
            _stop(proc)

    return start


def _worker_is_live(config: Config) -> Callable[[], bool]:
    registry = WorkerRegistry(connect(config.redis), Keys(config.redis.key_prefix), config.worker.heartbeat_interval_s)
    return lambda: bool(registry.live(config.worker.queue))


@pytest.fixture(scope="session")
def worker_log(tmp_path_factory) -> Path:
    """The session worker's log (its stdout and stderr)."""
    return tmp_path_factory.mktemp("logs") / "worker.log"


@pytest.fixture(scope="session")
def worker(config, stack_env, worker_log, start_process) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process with the default model, live once its heartbeat shows."""
    with start_process("worker", worker_command(config), stack_env, worker_log, _worker_is_live(config)) as proc:
        yield proc


@pytest.fixture(scope="session")
def wait_for_task(worker, worker_log) -> Callable[..., str]:
    """``wait_for_task(task_id)``: wait until the session worker has finished Celery task ``task_id``
    (Celery logs every task's end) and return what the task returned, e.g. the job's status
    ("succeeded", or "cancelled" for a job the worker skipped)."""

    def wait(task_id: str, timeout: float = JOB_TIMEOUT_S) -> str:
        ended = re.compile(r"Task \S+\[" + re.escape(task_id) + r"\] (succeeded in \S+ (.*)|raised .*)$", re.M)
        found = wait_until(
            lambda: ended.search(worker_log.read_text(errors="replace")), timeout, what=f"the worker to finish task {task_id}"
        )
        assert found.group(2) is not None, found.group(0)  # the task returned: it did not raise
        status = re.search(r"'status': '(\w+)'", found.group(2))
        assert status, found.group(0)
        return status.group(1)

    return wait


@pytest.fixture(scope="session")
def api_url(config, stack_env, tmp_path_factory, start_process) -> Iterator[str]:
    """The API under gunicorn, as `llmjobs api` runs it."""
    url = f"http://{config.api.host}:{config.api.port}"
    log = tmp_path_factory.mktemp("logs") / "api.log"
    with start_process("API", api_command(config), stack_env, log, f"{url}/healthz"):
        yield url


@pytest.fixture(scope="session")
def http(api_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def make_app() -> Iterator[Callable[[Config], Flask]]:
    """``make_app(config)``: the API app in-process (for the Flask test client); its background
    threads (flag poller, event hub) stop when the session ends."""
    from api import create_app

    apps: list[Flask] = []

    def make(config: Config) -> Flask:
        apps.append(create_app(config))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["llmjobs"].stop()


@pytest.fixture(scope="session")
def flask_app(config, make_app) -> Flask:
    """The session's configuration as an app in-process, for the Flask test client."""
    return make_app(config)


@pytest.fixture
def client(flask_app):
    return flask_app.test_client()


@pytest.fixture(scope="session")
def private_stack(start_process) -> Callable[..., AbstractContextManager[httpx.Client]]:
    """``with private_stack(env, worker_command_of, logs) as http:`` a worker and an API of their own
    (their own queue in ``env``) sharing the tests' Redis, for settings the session's stack must
    not have; ``http`` is a client of that API. Their logs: ``logs / "worker.log"``, ``logs / "api.log"``."""

    @contextmanager
    def stack(env: dict[str, str], worker_command_of: Callable[[Config], list[str]], logs: Path) -> Iterator[httpx.Client]:
        config = load_config(env)
        url = f"http://{config.api.host}:{config.api.port}"
        with (
            start_process("worker", worker_command_of(config), env, logs / "worker.log", _worker_is_live(config)),
            start_process("API", api_command(config), env, logs / "api.log", f"{url}/healthz"),
            httpx.Client(base_url=url, timeout=30) as client,
        ):
            yield client

    return stack


@pytest.fixture(scope="session")
def wait_for_job() -> Callable[..., dict]:
    """``wait_for_job(get_record, job_id, timeout=120)``: poll ``get_record(job_id)`` until the job
    reaches a terminal status; return that record."""

    def wait(get_record: Callable[[str], dict], job_id: str, timeout: float = JOB_TIMEOUT_S) -> dict:
        last: list[dict] = []

        def ended() -> dict | None:
            last[:] = [get_record(job_id)]
            return last[0] if last[0]["status"] in TERMINAL else None

        return wait_until(ended, timeout, what=lambda: f"job {job_id} to finish (last seen: {last[0] if last else None})", interval=0.1)

    return wait


@pytest.fixture(scope="session")
def webhook_receiver(config) -> Iterator[Receiver]:
    """The tests' webhook receiver on loopback, at the port the stack's LLMJOBS_WEBHOOK_ALLOW names; it verifies
    every call with the ``standardwebhooks`` library."""
    ((_, port),) = config.webhooks.allow.host_ports
    receiver = Receiver(port, WEBHOOK_SECRET).start()
    yield receiver
    receiver.stop()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Selenium (skipped where Chromium is missing; CI installs it)."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium is not installed here (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
