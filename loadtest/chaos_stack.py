"""`llmjobs up` in a folder of its own, for the chaos runs (loadtest/chaos.py): its Redis, worker and
API processes can be found and killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.cli.embedded_redis import EmbeddedRedis, free_port
from loadtest.tcp_proxy import TcpProxy


class Stack:
    """`llmjobs up` in a folder of its own: embedded Redis (AOF), one worker, the API; no Flower."""

    def __init__(self, folder: Path, lease_ttl_s: float = 3.0, proxied: bool = False, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.redis_url = f"redis://127.0.0.1:{free_port()}/0"
        self.own_redis = self.proxy = None
        if proxied:  # Redis of our own behind a proxy that can cut the network; `up` uses what answers
            self.own_redis = EmbeddedRedis(folder / "redis", persist=True).start()
            self.proxy = TcpProxy(self.own_redis.port)
            self.redis_url = self.proxy.url
        settings = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMJOBS_")}
        env.update(
            LLMJOBS_REDIS_URL=self.redis_url,  # unless proxied nothing answers there: `up` embeds a Redis on that port
            LLMJOBS_RUN_DIR=str(folder),
            LLMJOBS_PORT=str(self.port),
            LLMJOBS_FLOWER_PORT="0",
            LLMJOBS_WORKER_METRICS_PORT="0",
            LLMJOBS_API_WORKERS="1",
            LLMJOBS_HEARTBEAT_INTERVAL="0.5",
            LLMJOBS_LEASE_TTL=str(lease_ttl_s),
            LLMJOBS_CACHE="off",
            PYTHONUNBUFFERED="1",
        )
        env.update(settings)  # the caller's settings win
        self.log = (folder / "stack.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "up"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready(300)

    def ready(self) -> dict | None:
        try:
            response = httpx.get(f"{self.base_url}/readyz", timeout=2)
            return response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def wait_ready(self, timeout_s: float) -> float:
        started = time.monotonic()
        while not self.ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"`llmjobs up` exited with {self.proc.returncode}; see {self.log.name}")
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"the stack was not ready within {timeout_s:g} s; see {self.log.name}")
            time.sleep(0.2)
        return time.monotonic() - started

    def worker_pid(self) -> int:
        return int(self.ready()["workers"][0]["pid"])

    def api_worker_pids(self) -> list[int]:
        """gunicorn's worker processes: the children of the master that `up` started."""
        masters = [pid for pid in _children(self.proc.pid) if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        return [pid for master in masters for pid in _children(master)]

    def redis_pid(self) -> int:
        import redis  # the stack's own Redis: asked for its process id

        return int(redis.Redis.from_url(self.redis_url).info("server")["process_id"])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        if self.proxy is not None:
            self.proxy.stop()
        if self.own_redis is not None:
            self.own_redis.stop()


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
