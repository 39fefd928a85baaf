"""What the soak run samples while it runs: every process of the stack (RSS and PSS, by role), Redis'
memory and keys, the queue; and, once the load has ended, what Redis keeps per job.

Processes are found under the `llmjobs up` process the soak started (psutil); a role names each
(``worker``, ``api-1`` …, ``api-master``, ``redis``, ``supervisor``) so a restarted process keeps its
series. PSS (proportional set size) splits pages shared between processes (gunicorn's preloaded
code, the embedding model) among them: the sum of PSS is what the stack really holds.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

import psutil
import redis

from app.jobs.worker_registry import WorkerRegistry
from app.redis_conn import Keys

MIB = 2**20


def role_of(proc: psutil.Process, supervisor_pid: int) -> str:
    """A process's part in the stack, from its command line and parent."""
    try:
        cmdline = " ".join(proc.cmdline())
        parent = proc.ppid()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"
    if proc.pid == supervisor_pid:
        return "supervisor"
    if "redis-server" in cmdline:
        return "redis"
    if "gunicorn" in cmdline:
        return "api-master" if parent == supervisor_pid else "api"  # gunicorn's workers are its master's children
    if "flower" in cmdline:
        return "flower"
    if "celery" in cmdline:
        return "worker"
    return proc.name()


class ProcessProbe:
    """RSS and PSS of every process under the supervisor, keyed by role (API workers numbered by pid order)."""

    def __init__(self, supervisor_pid: int) -> None:
        self.supervisor = psutil.Process(supervisor_pid)

    def sample(self) -> dict[str, dict[str, float]]:
        found: dict[str, list[tuple[int, dict[str, float]]]] = defaultdict(list)
        for proc in [self.supervisor, *self.supervisor.children(recursive=True)]:
            role = role_of(proc, self.supervisor.pid)
            try:
                full = proc.memory_full_info()  # reads smaps: RSS, USS and PSS
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            memory = {"pid": proc.pid, **{f"{name}_mib": round(getattr(full, name) / MIB, 1) for name in ("rss", "pss", "uss")}}
            found[role].append((proc.pid, memory))
        out: dict[str, dict[str, float]] = {}
        for role, procs in found.items():
            procs.sort()
            for n, (_, memory) in enumerate(procs, start=1):
                out[role if len(procs) == 1 and role != "api" else f"{role}-{n}"] = memory
        return out


def mappings(pid: int, top: int = 8) -> dict[str, Any]:
    """Where a process's resident memory lies: anonymous (heap, tensors, KV) against file-backed
    (libraries, memory-mapped weights), and the largest mappings by path."""
    by_path: dict[str, float] = defaultdict(float)
    for region in psutil.Process(pid).memory_maps(grouped=True):
        by_path[region.path or "[anon]"] += region.rss / MIB
    anonymous = sum(rss for path, rss in by_path.items() if not path.startswith("/"))
    largest = dict(sorted(by_path.items(), key=lambda item: -item[1])[:top])
    return {"anonymous_mib": anonymous, "file_backed_mib": sum(by_path.values()) - anonymous, "largest_mib": largest}


class RedisProbe:
    """Redis' memory, the stack's keys by kind, the queue and the running jobs."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.keys = Keys(prefix)
        self.prefix = prefix
        self.registry = WorkerRegistry(client, self.keys, interval_s=2)

    def sample(self) -> dict[str, Any]:
        memory = self.redis.info("memory")
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.queued)
            pipe.zcard(self.keys.leases)
            pipe.dbsize()
            queued, running, keys = pipe.execute()
        counts = self.key_counts()
        # CUDA memory as each worker's heartbeat reports it (absent on a CPU)
        cuda = [{k: v / MIB for k, v in w.get("memory", {}).items() if k.startswith("cuda")} for w in self.registry.live()]
        return {
            "worker_cuda_mib": [c for c in cuda if c],
            "used_memory_mib": round(memory["used_memory"] / MIB, 3),
            "used_memory_rss_mib": round(memory["used_memory_rss"] / MIB, 3),
            "queue_depth": queued,
            "running": running,
            "keys": keys,
            "job_keys": counts.get("job", 0),
            "event_streams": counts.get("events", 0),
        }

    def kind_of(self, key: str) -> str:
        """``<prefix>:job:<id>`` -> ``job``; keys of others (Celery's, the rate limiter's) by their first word."""
        head, _, rest = key.partition(":")
        return rest.split(":", 1)[0] if head == self.prefix else f"({head})"

    def key_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for key in self.redis.scan_iter(match=f"{self.prefix}:*", count=2000):
            counts[self.kind_of(key)] += 1
        return dict(counts)

    def retained(self) -> dict[str, dict[str, float]]:
        """Every key's ``MEMORY USAGE`` (exact: SAMPLES 0), summed by kind: what Redis keeps, and for what."""
        by_kind: dict[str, dict[str, float]] = defaultdict(lambda: {"keys": 0, "bytes": 0})
        keys = list(self.redis.scan_iter(count=2000))
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            with self.redis.pipeline(transaction=False) as pipe:
                for key in chunk:
                    pipe.memory_usage(key, samples=0)
                sizes = pipe.execute()
            for key, size in zip(chunk, sizes, strict=True):
                entry = by_kind[self.kind_of(key)]
                entry["keys"] += 1
                entry["bytes"] += size or 0
        return {kind: {**entry, "bytes_per_key": entry["bytes"] / entry["keys"]} for kind, entry in sorted(by_kind.items())}

    def failures(self) -> dict[str, int]:
        """Failed jobs by their error (type: first words of the message), from their records."""
        found: dict[str, int] = defaultdict(int)
        for key in self.redis.scan_iter(match=f"{self.prefix}:job:*", count=2000):
            status, record = self.redis.hmget(key, "status", "record")
            if status == "failed" and record:
                error = json.loads(json.loads(record).get("error") or "{}")
                found[f"{error.get('type')}: {str(error.get('message'))[:60]}"] += 1
        return dict(found)

    def wait_streams_gone(self, timeout_s: float, on_tick=lambda: None) -> bool:
        """Wait (sampling) until no job event stream is left; False if some outlived ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.key_counts().get("events", 0):
            if time.monotonic() > deadline:
                return False
            on_tick()
            time.sleep(5)
        return True
