"""Soak: open-loop Poisson load on a whole stack for a long time, watching memory, Redis and latency.

    python -m loadtest.soak --duration 1800 --rate 1.5 --out docs/benchmarks/<day>-soak/soak.json \
        --plot docs/benchmarks/<day>-soak/soak.png

Starts `llmjobs up` in a folder of its own with `make run`'s defaults (two API processes, the result
cache on; Flower left out), offers streaming chat requests (``distinct_chat``, 128 tokens each, no
two alike) as a Poisson process, and every ``--interval`` seconds samples every process's RSS and
PSS (and CUDA memory where the worker reports it), Redis' ``used_memory`` and keys, the queue
depth, and the TTFT and errors of the requests that ended meanwhile. After the load it waits until
the job event streams have expired and measures what Redis keeps per job (``MEMORY USAGE`` of
every key, by kind). Figures: each process's RSS growth between the first and the last
``--window`` seconds after ``--warmup``, its linear trend (MiB/hour), Redis bytes per retained job.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from app.config import load_config
from app.redis_conn import connect
from loadtest import modes, workloads
from loadtest.chaos_stack import Stack
from loadtest.report import write_json
from loadtest.soak_plot import plot
from loadtest.soak_probe import MIB, ProcessProbe, RedisProbe, mappings
from loadtest.stats import Sample, percentile
from loadtest.targets import Params, Target

# `make run`'s defaults where the chaos stack (loadtest/chaos_stack.py) changes them.
MAKE_RUN_DEFAULTS = {
    "LLMJOBS_API_WORKERS": "2",
    "LLMJOBS_CACHE": "on",
    "LLMJOBS_HEARTBEAT_INTERVAL": "2",
    "LLMJOBS_LEASE_TTL": "10",
}


def growth(series: list[dict[str, Any]], role: str, warmup_s: float, window_s: float, end_s: float) -> dict[str, float] | None:
    """RSS of ``role``: mean of the first and last ``window_s`` after warm-up, growth between them, linear trend."""
    points = [(s["t"], s["processes"][role]["rss_mib"]) for s in series if role in s["processes"] and warmup_s <= s["t"] <= end_s]
    if len(points) < 4:
        return None
    first = [rss for t, rss in points if t <= warmup_s + window_s]
    last = [rss for t, rss in points if t >= end_s - window_s]
    t, rss = np.array(points).T
    slope = float(np.polyfit(t, rss, 1)[0]) * 3600
    start, end = float(np.mean(first)), float(np.mean(last))
    return {"rss_start_mib": start, "rss_end_mib": end, "growth_pct": 100 * (end - start) / start, "trend_mib_per_h": slope}


async def sample_loop(
    state: dict[str, Any], processes: ProcessProbe, redis_probe: RedisProbe, interval_s: float, stop: asyncio.Event
) -> None:
    """One sample every ``interval_s`` until ``stop``: memory, Redis, and the requests that ended since the last."""
    seen = 0
    while True:
        t = time.perf_counter() - state["start"]
        ended = state["samples"][seen:]
        seen += len(ended)
        ttfts = [s.ttft_s for s in ended if s.ok and s.ttft_s is not None]
        state["series"].append({
            "t": round(t, 1),
            "processes": await asyncio.to_thread(processes.sample),
            "redis": await asyncio.to_thread(redis_probe.sample),
            "ended": len(ended),
            "errors": sum(not s.ok for s in ended),
            "ttft_p50_s": round(percentile(ttfts, 50), 4) if ttfts else None,
            "ttft_p95_s": round(percentile(ttfts, 95), 4) if ttfts else None,
        })  # fmt: skip
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
            return
        except TimeoutError:
            continue


async def offer_load(args: argparse.Namespace, base_url: str, state: dict[str, Any]) -> None:
    items = workloads.load("distinct_chat", seed=args.seed)
    arrivals = modes.poisson_schedule(args.rate, args.duration, args.seed)
    target = Target.parse(f"llmjobs:{base_url}")
    params = Params(max_tokens=args.max_tokens, temperature=args.temperature, ignore_eos=True, timeout_s=600)
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=httpx.Timeout(600, connect=10), limits=limits) as client:
        await modes.run("rate", target, client, items, params, arrivals=arrivals, on_done=state["samples"].append)


async def soak(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    config = load_config({"LLMJOBS_REDIS_URL": stack.redis_url, **dict(args.env)})
    client = connect(config.redis)
    redis_probe = RedisProbe(client, config.redis.key_prefix)
    processes = ProcessProbe(stack.proc.pid)
    baseline = client.info("memory")["used_memory"]
    state: dict[str, Any] = {"start": time.perf_counter(), "samples": [], "series": []}
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_loop(state, processes, redis_probe, args.interval, stop))
    await offer_load(args, stack.base_url, state)
    load_end = time.perf_counter() - state["start"]
    worker_maps = mappings(stack.worker_pid())  # before the stack stops: what the worker's memory is made of
    live = await asyncio.to_thread(redis_probe.retained)  # streams included: what a job costs while its stream lives
    # Let the event streams expire: what stays is what Redis keeps per job for LLMJOBS_JOB_TTL.
    settled = await asyncio.to_thread(redis_probe.wait_streams_gone, config.events_ttl_s + 120)
    stop.set()
    await sampler
    samples: list[Sample] = state["samples"]
    ok = [s for s in samples if s.ok]
    retained = redis_probe.retained()
    used = client.info("memory")["used_memory"]
    roles = sorted({role for s in state["series"] for role in s["processes"]})
    ttfts = [s.ttft_s for s in ok if s.ttft_s is not None]
    return {
        "run": {
            "duration_s": args.duration, "rate": args.rate, "max_tokens": args.max_tokens, "temperature": args.temperature,
            "warmup_s": args.warmup, "window_s": args.window, "interval_s": args.interval, "settings": dict(args.env),
            "events_ttl_s": config.events_ttl_s, "job_ttl_s": config.job_ttl_s, "cpus": os.cpu_count(),
        },
        "summary": {
            "requests": len(samples), "succeeded": len(ok),
            "errors": {kind: sum(s.error == kind for s in samples) for kind in {s.error for s in samples if s.error}},
            "ttft_p50_s": percentile(ttfts, 50) if ttfts else None, "ttft_p95_s": percentile(ttfts, 95) if ttfts else None,
            "ttft_p99_s": percentile(ttfts, 99) if ttfts else None,
            "rss_growth": {role: growth(state["series"], role, args.warmup, args.window, load_end) for role in roles},
            "redis": {
                "streams_expired": settled,
                "used_memory_growth_bytes": used - baseline,
                "used_memory_per_job_bytes": (used - baseline) / max(1, len(samples)),
                "at_load_end_by_kind": live,
                "retained_by_kind": retained,
                "job_record_bytes": retained.get("job", {}).get("bytes_per_key"),
            },
            "failures": redis_probe.failures(),
            "worker_memory_map": worker_maps,
        },
        "series": state["series"],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=1800, help="seconds of load (default 1800)")
    parser.add_argument("--rate", type=float, default=1.5, help="Poisson arrivals per second (default 1.5)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--temperature", type=float, default=1.0, help="the API's default: sampled, so no two answers alike")
    parser.add_argument("--interval", type=float, default=15, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=300, help="seconds left out of the growth figures")
    parser.add_argument("--window", type=float, default=300, help="seconds averaged at each end of the growth figure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--env", action="append", default=[], type=lambda s: tuple(s.split("=", 1)), help="LLMJOBS_X=value for the stack")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args(argv)
    args.env = [*MAKE_RUN_DEFAULTS.items(), *args.env]
    with tempfile.TemporaryDirectory(prefix="llmjobs-soak-") as folder:
        stack = Stack(Path(folder), lease_ttl_s=10, env=dict(args.env))
        try:
            report = asyncio.run(soak(args, stack))
        finally:
            stack.stop()
    write_json(report, args.out)
    if args.plot:
        plot(report, args.plot)
    print_summary(report)
    return 0


def print_summary(report: dict[str, Any]) -> None:
    s = report["summary"]
    print(f"requests {s['requests']}, succeeded {s['succeeded']}, errors {s['errors'] or 0}")
    print(f"TTFT p50 {s['ttft_p50_s'] or 0:.3f} s, p95 {s['ttft_p95_s'] or 0:.3f} s, p99 {s['ttft_p99_s'] or 0:.3f} s")
    for role, g in s["rss_growth"].items():
        if g:
            change = f"({g['growth_pct']:+.1f} %), trend {g['trend_mib_per_h']:+.1f} MiB/h"
            print(f"{role:>12}: RSS {g['rss_start_mib']:.0f} -> {g['rss_end_mib']:.0f} MiB {change}")
    r = s["redis"]
    print(f"Redis: used_memory +{r['used_memory_growth_bytes'] / MIB:.1f} MiB, {r['used_memory_per_job_bytes']:.0f} B per job")
    print(f"(event streams all expired: {r['streams_expired']})")
    if s["failures"]:
        print(f"failed jobs: {s['failures']}")
    m = s["worker_memory_map"]
    print(f"worker: {m['anonymous_mib']:.0f} MiB anonymous, {m['file_backed_mib']:.0f} MiB file-backed; largest: {m['largest_mib']}")
    for kind, entry in r["retained_by_kind"].items():
        print(f"  {kind:>14}: {entry['keys']:6.0f} keys, {entry['bytes'] / 1024:9.1f} KiB, {entry['bytes_per_key']:8.0f} B/key")


if __name__ == "__main__":
    raise SystemExit(main())
