"""One benchmark invocation: warm-up, then every target interleaved round by round, at each level."""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import httpx
from tqdm import tqdm

from loadtest import modes, workloads
from loadtest.stats import Sample, summarize
from loadtest.targets import Params, Target


@dataclass
class Plan:
    targets: list[Target]
    mode: str
    workload: str
    params: Params
    requests: int = 32
    levels: tuple[float, ...] = (1,)  # concurrency (or batch size) per run; requests/s in rate mode
    duration_s: float = 30.0  # rate mode
    rounds: int = 2  # targets alternate A, B, A, B ... in this many rounds
    warmup: int = 2
    seed: int = 0


async def execute(plan: Plan, *, progress: bool = True) -> dict[str, Any]:
    """Run the plan; return the report (meta, and per target and level a summary with its samples)."""
    items = workloads.load(plan.workload, seed=plan.seed)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
    runs: list[dict[str, Any]] = []
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(plan.params.timeout_s, connect=10)) as client:
        for target in plan.targets:
            try:
                await target.prepare(client)
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                raise SystemExit(f"loadtest: cannot reach {target.name} at {target.url}: {exc}") from None
        # warm-up: excluded from every figure, on items from the end (a result cache must not answer the measured ones)
        for target in plan.targets:
            for item in workloads.take(items[::-1], plan.warmup):
                await target.send(client, item, plan.params, -1, time.perf_counter())
        total = len(plan.levels) * len(plan.targets) * _requests_per_level(plan)
        bar = tqdm(total=total, unit="req", disable=not progress, dynamic_ncols=True)
        # Each round of each level takes the workload's next items (the same ones for every target): a
        # target with a result cache must not be answered from it for an item an earlier run sent.
        cursor = 0
        for level in plan.levels:
            collected: dict[str, tuple[list[Sample], float]] = {t.name: ([], 0.0) for t in plan.targets}
            for round_index in range(plan.rounds):
                chunk, arrivals = _round_items(plan, items[cursor % len(items) :] + items[: cursor % len(items)], level, round_index)
                cursor += len(chunk)
                bar.total += len(arrivals or []) * len(plan.targets)
                for target in plan.targets:
                    bar.set_description(f"{plan.mode} {level:g} · {target.name} · round {round_index + 1}/{plan.rounds}")
                    samples, wall = await modes.run(
                        plan.mode,
                        target,
                        client,
                        chunk,
                        plan.params,
                        concurrency=int(level),
                        arrivals=arrivals,
                        on_done=lambda _: bar.update(),
                    )
                    done, spent = collected[target.name]
                    collected[target.name] = (done + samples, spent + wall)
            for target in plan.targets:
                samples, wall = collected[target.name]
                run = {"target": target.name, "kind": target.kind, "url": target.url, "mode": plan.mode, "level": level}
                run["summary"] = summarize(samples, wall)
                if target.is_llmjobs:
                    run["summary"]["worker_memory"] = await _worker_memory(client, target)
                run["samples"] = [s.to_dict() for s in samples]
                runs.append(run)
        bar.close()
    return {"meta": _meta(plan), "runs": runs}


def _requests_per_level(plan: Plan) -> int:
    return plan.requests if plan.mode != "rate" else 0  # rate mode: the count is known only per schedule


def _round_items(
    plan: Plan, items: list[dict[str, Any]], level: float, round_index: int
) -> tuple[list[dict[str, Any]], list[float] | None]:
    """The items of one round (from the start of ``items``) and, in rate mode, their arrival times."""
    if plan.mode == "rate":
        arrivals = modes.poisson_schedule(level, plan.duration_s / plan.rounds, seed=plan.seed + round_index)
        return workloads.take(items, len(arrivals)), arrivals
    share = plan.requests // plan.rounds + (1 if round_index < plan.requests % plan.rounds else 0)
    return workloads.take(items, share), None


async def _worker_memory(client: httpx.AsyncClient, target: Target) -> list[dict[str, Any]] | None:
    """The workers' memory as they report it in their heartbeats (peak RSS, CUDA)."""
    try:
        response = await client.get(f"{target.url}/readyz", timeout=10)
        return [{"id": w.get("id"), "device": w.get("device"), **(w.get("memory") or {})} for w in response.json().get("workers", [])]
    except (httpx.HTTPError, ValueError):
        return None


def _meta(plan: Plan) -> dict[str, Any]:
    try:
        commit = (
            subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, timeout=5).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit,
        "machine": {"cpus": _nproc(), "cpu": _cpu_model(), "python": platform.python_version()},
        "mode": plan.mode,
        "workload": plan.workload,
        "requests": plan.requests,
        "levels": list(plan.levels),
        "rounds": plan.rounds,
        "warmup": plan.warmup,
        "seed": plan.seed,
        "params": vars(plan.params),
        "targets": [{"name": t.name, "kind": t.kind, "url": t.url, "model": t.model} for t in plan.targets],
    }


def _nproc() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def run(plan: Plan, *, progress: bool = True) -> dict[str, Any]:
    return asyncio.run(execute(plan, progress=progress))
