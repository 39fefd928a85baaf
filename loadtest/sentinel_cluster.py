"""A Redis master, one replica and three sentinels on loopback, for the failover test and benchmark
(tests/integration/test_sentinel.py, loadtest/failover.py): real ``redis-server`` processes, each with
a configuration file in a folder of its own, and a way to kill the master and wait for the new one."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import redis

from app.cli.embedded_redis import free_port, redis_server_binary

NUM_SENTINELS = 3
QUORUM = 2


class SentinelCluster:
    def __init__(
        self,
        folder: Path,
        *,
        master_name: str = "mymaster",
        password: str | None = None,
        sentinel_password: str | None = None,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 5000,
        min_replicas_to_write: int = 0,
    ) -> None:
        self.folder = Path(folder)
        self.master_name = master_name
        self.password = password  # the master's and the replica's requirepass
        self.sentinel_password = sentinel_password  # the sentinels' own requirepass
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.min_replicas_to_write = min_replicas_to_write  # Redis' own guard: a master without replicas refuses writes
        self.data_ports = [free_port(), free_port()]  # the first starts as the master
        self.sentinel_ports = [free_port() for _ in range(NUM_SENTINELS)]
        self.servers: dict[int, subprocess.Popen] = {}  # port -> process

    @property
    def url(self) -> str:
        """``LLMJOBS_REDIS_URL`` for this cluster (with the master's password in it, when there is one)."""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return ";".join(f"sentinel://{auth}127.0.0.1:{port}" for port in self.sentinel_ports) + "/0"

    def start(self, timeout_s: float = 30.0) -> SentinelCluster:
        master, replica = self.data_ports
        self._spawn(master, self._data_lines(master))
        self._spawn(replica, [*self._data_lines(replica), f"replicaof 127.0.0.1 {master}"])
        # Sentinels learn of replicas from the master's INFO, which they read every 10 s: started once the
        # replica is attached, their first read already lists it.
        self.wait_until(self._replica_linked, timeout_s, "the replica to sync with the master")
        for port in self.sentinel_ports:
            self._spawn(port, self._sentinel_lines(port), sentinel=True)
        self.wait_until(self._settled, timeout_s, "the sentinels to know the replica and each other")
        return self

    def _data_lines(self, port: int) -> list[str]:
        lines = ["save ''", "appendonly no"]
        if self.min_replicas_to_write:
            lines += [f"min-replicas-to-write {self.min_replicas_to_write}", "min-replicas-max-lag 2"]
        if self.password:  # masterauth too: a master that comes back is made a replica
            lines += [f'requirepass "{self.password}"', f'masterauth "{self.password}"']
        return lines

    def _sentinel_lines(self, port: int) -> list[str]:
        master = self.data_ports[0]
        lines = [
            f"sentinel monitor {self.master_name} 127.0.0.1 {master} {QUORUM}",
            f"sentinel down-after-milliseconds {self.master_name} {self.down_after_ms}",
            f"sentinel failover-timeout {self.master_name} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {self.master_name} 1",
        ]
        if self.password:
            lines.append(f'sentinel auth-pass {self.master_name} "{self.password}"')
        if self.sentinel_password:
            lines.append(f'requirepass "{self.sentinel_password}"')
        return lines

    def _spawn(self, port: int, lines: list[str], *, sentinel: bool = False) -> None:
        folder = self.folder / str(port)
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "redis.conf"
        # A sentinel rewrites its file as its view changes; passwords stay out of every command line.
        head = [f"port {port}", "bind 127.0.0.1", f'dir "{folder.resolve()}"', 'logfile "redis.log"', "daemonize no"]
        conf.write_text("\n".join([*head, *lines]) + "\n")
        conf.chmod(0o600)
        args = [redis_server_binary(), str(conf), *(["--sentinel"] if sentinel else [])]
        self.servers[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=self.sentinel_password, socket_timeout=1, socket_connect_timeout=1, decode_responses=True)

    def data(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=self.password, socket_timeout=1, socket_connect_timeout=1, decode_responses=True)

    def master_port(self) -> int | None:
        """The master's port as a majority of the sentinels report it (None while they disagree or cannot say)."""
        seen = []
        for port in self.sentinel_ports:
            try:
                seen.append(int(self.sentinel(port).sentinel_get_master_addr_by_name(self.master_name)[1]))
            except (redis.RedisError, TypeError):
                continue
        best = max(set(seen), key=seen.count, default=None)
        return best if best is not None and seen.count(best) >= QUORUM else None

    def _settled(self) -> bool:
        try:
            for port in self.sentinel_ports:
                state = self.sentinel(port).sentinel_master(self.master_name)
                if state["num-other-sentinels"] < NUM_SENTINELS - 1 or state["num-slaves"] < 1:
                    return False
        except redis.RedisError:
            return False
        return True

    def _replica_linked(self) -> bool:
        try:
            master = self.data(self.data_ports[0]).info("replication")
            replica = self.data(self.data_ports[1]).info("replication")
        except redis.RedisError:
            return False
        return replica.get("master_link_status") == "up" and master.get("connected_slaves", 0) >= 1

    def kill_master(self) -> int:
        """SIGKILL the current master; returns its port."""
        port = self.master_port()
        assert port is not None, "the sentinels agree on no master"
        self.servers[port].send_signal(signal.SIGKILL)
        self.servers[port].wait()
        return port

    def freeze_master(self, seconds: float) -> int:
        """SIGSTOP the current master for ``seconds``, then SIGCONT it: a master cut off for a while (a partition
        or a long pause) that comes back still taking writes until the sentinels make it a replica; returns its port."""
        port = self.master_port()
        assert port is not None, "the sentinels agree on no master"
        self.servers[port].send_signal(signal.SIGSTOP)
        time.sleep(seconds)
        self.servers[port].send_signal(signal.SIGCONT)
        return port

    def wait_failover(self, old_port: int, timeout_s: float = 30.0) -> int:
        """Wait until the sentinels name another master and it answers as one; return its port."""

        def promoted() -> int | None:
            port = self.master_port()
            if port in (None, old_port):
                return None
            try:
                return port if self.data(port).info("replication")["role"] == "master" else None
            except redis.RedisError:
                return None

        return self.wait_until(promoted, timeout_s, "a replica to be promoted")

    @staticmethod
    def wait_until(check, timeout_s: float, what: str):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if found := check():
                return found
            time.sleep(0.1)
        raise TimeoutError(f"waited {timeout_s:g} s for {what}")

    def stop(self) -> None:
        for proc in self.servers.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.servers.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
