"""``llmjobs up``: the whole stack in the foreground, stopped together by Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx

from app.cli.commands import FLOWER_ENV, api_command, ensure_prepared, flower_command, worker_command
from app.cli.embedded_redis import EmbeddedRedis, answers, free_port
from app.config import Config

READY_TIMEOUT_S = 300
CURL_EXAMPLE = """\
  curl -s http://{addr}/v1/jobs -H 'Content-Type: application/json' \\
       -d '{{"prompt": "What is the capital of France? Answer in one sentence.", "temperature": 0}}'
  curl -s http://{addr}/v1/jobs/<id>"""


class Stack:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.redis: EmbeddedRedis | None = None
        self.stopping = False

    def start_redis(self) -> str:
        url = self.config.redis.url
        if answers(url):
            print(f"llmjobs: using the Redis at {url}")
            return url
        parts = urlsplit(url)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        port = parts.port or 6379
        self.redis = EmbeddedRedis(self.config.run_dir / "redis", port=port if local and _port_free(port) else free_port()).start()
        print(f"llmjobs: nothing answered at {url}; started an embedded Redis at {self.redis.url} (data in {self.redis.data_dir})")
        return self.redis.url

    def spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        # A new session: Ctrl-C reaches only us, and we stop the children in order.
        self.children.append((name, subprocess.Popen(command, env=env, start_new_session=True)))

    def wait_ready(self) -> bool:
        url = f"http://{self.config.api.host}:{self.config.api.port}/readyz"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and not self.stopping:
            if self.exited():
                return False
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        return False

    def exited(self) -> str | None:
        return next((name for name, proc in self.children if proc.poll() is not None), None)

    def stop(self) -> None:
        self.stopping = True
        for _, proc in reversed(self.children):  # API and Flower first, the worker after them
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"llmjobs: {name} did not stop in time; killing it", file=sys.stderr)
                proc.kill()
                proc.wait()
        if self.redis is not None:
            self.redis.stop()


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_stack(config: Config) -> int:
    ensure_prepared(config)
    stack = Stack(config)
    # Ctrl-C and `kill` both stop the stack cleanly (SIGINT is re-armed: a shell
    # that starts us in the background leaves it ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        env = {**os.environ, "LLMJOBS_REDIS_URL": stack.start_redis()}
        stack.spawn("worker", worker_command(config), env)
        stack.spawn("api", api_command(config), env)
        if config.flower_port:
            stack.spawn("flower", flower_command(config), {**env, **FLOWER_ENV})
        if not stack.wait_ready():
            print(f"llmjobs: the stack did not become ready ({stack.exited() or 'timed out'} stopped); shutting down", file=sys.stderr)
            return 1
        addr = f"{config.api.host}:{config.api.port}"
        flower = f" · Flower http://127.0.0.1:{config.flower_port}" if config.flower_port else ""
        metrics = f" · Metrics http://{addr}/metrics" + (
            f" and http://{config.api.host}:{config.worker.metrics_port}/metrics (worker)" if config.worker.metrics_port else ""
        )
        print(
            f"\nllmjobs is ready: API http://{addr}{flower}{metrics} · Ctrl-C stops everything. Try:\n{CURL_EXAMPLE.format(addr=addr)}\n",
            flush=True,
        )
        while (name := stack.exited()) is None:
            time.sleep(0.5)
        print(f"llmjobs: {name} exited; stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _ignore_signals()  # a second Ctrl-C must not interrupt the orderly stop
        print("\nllmjobs: stopping…", file=sys.stderr)
        return 0
    finally:
        _ignore_signals()
        stack.stop()


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
