"""``llmjobs up``: the whole stack in the foreground, kept running, stopped together by Ctrl-C.

Redis (embedded when nothing answers at ``LLMJOBS_REDIS_URL``), a worker, the webhook deliverer, the API and Flower run
as children of this process under app/cli/supervisor.py: one that dies is started again (the
embedded Redis from its append-only file), so the stack keeps serving; the dead worker's running
jobs are taken over through their leases (app/jobs/leases.py). Each restart is logged and counted
in Redis (``llmjobs_process_restarts_total`` on the API's ``/metrics``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import redis

from app.cli.commands import FLOWER_ENV, api_command, ensure_prepared, flower_command, webhook_worker_command, worker_command
from app.cli.embedded_redis import EmbeddedRedis, answers, free_port
from app.cli.supervisor import GaveUp, Supervisor
from app.config import Config, RedisConfig, redacted
from app.errors import ConfigError
from app.redis_conn import Keys, connect
from app.settings.redis_url import is_sentinel

READY_TIMEOUT_S = 300
CURL_EXAMPLE = """\
  curl -s http://{addr}/v1/jobs -H 'Content-Type: application/json'{auth} \\
       -d '{{"prompt": "What is the capital of France? Answer in one sentence.", "temperature": 0}}'
  curl -s http://{addr}/v1/jobs/<id>{auth}"""


def embedded_redis_or_none(config: Config) -> EmbeddedRedis | None:
    """An embedded Redis (not started) when nothing answers at the configured URL."""
    url = config.redis.url
    if is_sentinel(url):  # the operator's replicated Redis: a lone embedded one must never stand in for it
        if not _master_answers(config.redis):
            raise ConfigError(
                "LLMJOBS_REDIS_URL",
                f"names Redis Sentinel, and no master {config.redis.sentinel_master!r} answered through its sentinels; "
                "`llmjobs up` embeds a Redis only in place of a redis:// URL: start the sentinels and their Redis first",
            )
        print(f"llmjobs: using the Redis master {config.redis.sentinel_master!r} of the sentinels at {redacted(url)}")
        return None
    if answers(url):
        print(f"llmjobs: using the Redis at {redacted(url)}")
        return None
    parts = urlsplit(url)
    port = parts.port or 6379
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    server = EmbeddedRedis(config.run_dir / "redis", port=port if local and _port_free(port) else free_port())
    print(f"llmjobs: nothing answered at {redacted(url)}; starting an embedded Redis at {server.url} (data in {server.data_dir})")
    return server


def count_restart(config: RedisConfig, name: str) -> None:
    try:
        connect(config, connect_timeout_s=1, socket_timeout_s=1).hincrby(Keys(config.key_prefix).restarts, name, 1)
    except redis.RedisError:  # a metric only: Redis may be the one restarting
        pass


def _master_answers(config: RedisConfig) -> bool:
    try:
        return bool(connect(config, connect_timeout_s=1, socket_timeout_s=1).ping())
    except redis.RedisError:
        return False


def wait_ready(config: Config, supervisor: Supervisor) -> bool:
    url = f"http://{config.api.host}:{config.api.port}/readyz"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if supervisor.exited():  # before readiness a child that exits is a setup problem: stop
            return False
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def run_stack(config: Config) -> int:
    ensure_prepared(config)
    # Ctrl-C and `kill` both stop the stack cleanly (SIGINT is re-armed: a shell
    # that starts us in the background leaves it ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    supervisor = Supervisor()
    try:
        server = embedded_redis_or_none(config)
        counted_in = config.redis if server is None else replace(config.redis, url=server.url)
        supervisor.on_restart = lambda name: count_restart(counted_in, name)
        if server is not None:
            supervisor.add("redis", lambda: server.start().process)
        # The configured URL is left as the environment gives it (with LLMJOBS_REDIS_PASSWORD_FILE it
        # holds no password; each child reads the file itself).
        env = dict(os.environ) if server is None else {**os.environ, "LLMJOBS_REDIS_URL": server.url}
        supervisor.add("worker", lambda: _spawn(worker_command(config), env))
        supervisor.add("webhooks", lambda: _spawn(webhook_worker_command(config), env))
        supervisor.add("api", lambda: _spawn(api_command(config), env))
        if config.flower_port:
            supervisor.add("flower", lambda: _spawn(flower_command(config), {**env, **FLOWER_ENV}))
        if not wait_ready(config, supervisor):
            print(f"llmjobs: the stack did not become ready ({supervisor.exited() or 'timed out'} stopped); shutting down", file=sys.stderr)
            return 1
        print_ready(config)
        while True:
            supervisor.check()
            time.sleep(0.5)
    except GaveUp as exc:
        print(f"llmjobs: {exc}; stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _ignore_signals()  # a second Ctrl-C must not interrupt the orderly stop
        print("\nllmjobs: stopping…", file=sys.stderr)
        return 0
    finally:
        _ignore_signals()
        supervisor.stop()  # Flower and the API first, then the worker, Redis last


def print_ready(config: Config) -> None:
    addr = f"{config.api.host}:{config.api.port}"
    auth = " -H 'Authorization: Bearer <key>'" if config.api.api_keys else ""
    flower = f" · Flower http://127.0.0.1:{config.flower_port}" if config.flower_port else ""
    worker_metrics = f" and http://{config.api.host}:{config.worker.metrics_port}/metrics (worker)" if config.worker.metrics_port else ""
    print(
        f"\nllmjobs is ready: API http://{addr}{flower} · Metrics http://{addr}/metrics{worker_metrics} · Ctrl-C stops everything. "
        f"Try:\n{CURL_EXAMPLE.format(addr=addr, auth=auth)}\n",
        flush=True,
    )


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    # A new session: Ctrl-C reaches only us, and we stop the children in order.
    return subprocess.Popen(command, env=env, start_new_session=True)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
