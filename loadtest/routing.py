"""Model-aware routing, measured: `llmjobs up` in a folder of its own (its Redis, a worker of the default
model, the API) plus workers of a second model (a tiny randomly initialised Llama), then mixed jobs
for both models through the API, and the share of jobs a worker of their own model ran (goal: 100 %).

    python -m loadtest.routing --jobs 200 --json out.json

Each job's record names the worker that ran it; the live workers' heartbeats (``/readyz``) name the
model each serves.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.cli.commands import worker_command
from app.config import load_config
from loadtest.chaos import PROMPTS
from loadtest.chaos_stack import Stack
from loadtest.driver import closed_loop
from loadtest.report import write_json
from loadtest.tiny_model import make_tiny_llama

JOB_TIMEOUT_S = 300


def summarize(jobs: list[dict[str, Any]], models_of: dict[str, str]) -> dict[str, Any]:
    """The routing figure: of the jobs that ran, how many ran on a worker of the model they asked for."""
    ran = [job for job in jobs if job.get("worker")]
    own = [job for job in ran if models_of.get(job["worker"]) == job["model"]]
    per_model: dict[str, dict[str, Any]] = {}
    for job in jobs:
        entry = per_model.setdefault(job["model"], {"jobs": 0, "succeeded": 0, "on_own_model": 0, "workers": set()})
        entry["jobs"] += 1
        entry["succeeded"] += job["status"] == "succeeded"
        entry["on_own_model"] += job in own
        entry["workers"].add(job.get("worker"))
    return {
        "jobs": len(jobs),
        "succeeded": sum(job["status"] == "succeeded" for job in jobs),
        "ran_on_a_worker": len(ran),
        "on_own_model": len(own),
        "share_on_own_model": len(own) / len(ran) if ran else 0.0,
        "per_model": {model: {**e, "workers": len(e["workers"] - {None})} for model, e in per_model.items()},
    }


def run_job(base_url: str, model: str, prompt: str, max_tokens: int) -> dict[str, Any]:
    body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "cache": False}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        submitted = client.post("/v1/jobs", json=body)
        submitted.raise_for_status()
        job_id, deadline = submitted.json()["id"], time.monotonic() + JOB_TIMEOUT_S
        while time.monotonic() < deadline:
            job = client.get(f"/v1/jobs/{job_id}").json()
            if job["status"] not in ("queued", "running"):
                return job
            time.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not end within {JOB_TIMEOUT_S} s")


def start_workers(stack: Stack, folder: Path, count: int) -> list[subprocess.Popen]:
    """``count`` workers of the tiny model on the stack's Redis: the same Redis is all a worker needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMJOBS_")}
    env.update(LLMJOBS_REDIS_URL=stack.redis_url, LLMJOBS_MODEL=str(folder), LLMJOBS_WORKER_METRICS_PORT="0",
               LLMJOBS_HEARTBEAT_INTERVAL="0.5", PYTHONUNBUFFERED="1")  # fmt: skip
    command = worker_command(load_config(env))
    return [
        subprocess.Popen(command, env=env, stdout=(folder.parent / f"tiny-worker-{i}.log").open("wb"), stderr=subprocess.STDOUT)
        for i in range(count)
    ]


def live_models(base_url: str) -> dict[str, str]:
    """Worker id -> the model it serves, for every live worker (from ``/readyz``)."""
    ready = httpx.get(f"{base_url}/readyz", timeout=5).json()
    return {info["id"]: info["model"] for info in ready.get("workers", []) + ready.get("others", [])}


def measure(jobs: int, tiny_workers: int, concurrency: int, max_tokens: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="llmjobs-routing-") as scratch:
        return measure_in(Path(scratch), jobs, tiny_workers, concurrency, max_tokens, seed)


def measure_in(folder: Path, jobs: int, tiny_workers: int, concurrency: int, max_tokens: int, seed: int) -> dict[str, Any]:
    stack = Stack(folder)
    workers: list[subprocess.Popen] = []
    try:
        default = load_config({})
        tiny = make_tiny_llama(folder / "tiny-llama", default.model.source().path)
        workers = start_workers(stack, tiny, tiny_workers)
        deadline = time.monotonic() + 300
        while sum(model == tiny.name for model in live_models(stack.base_url).values()) < tiny_workers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the tiny model's workers did not start; see {folder}")
            time.sleep(0.5)
        models_of = live_models(stack.base_url)
        rng = random.Random(seed)
        asked = [(rng.choice([default.model.name, tiny.name]), rng.choice(PROMPTS)) for _ in range(jobs)]
        started = time.monotonic()
        done = closed_loop(asked, concurrency, lambda item: run_job(stack.base_url, item[0], item[1], max_tokens))
        elapsed = time.monotonic() - started
        models_of.update(live_models(stack.base_url))
        return {**summarize(done, models_of), "wall_s": round(elapsed, 1), "workers": models_of, "concurrency": concurrency}
    finally:
        for proc in workers:
            proc.terminate()
            proc.wait(timeout=60)
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--tiny-workers", type=int, default=1, help="workers of the second model")
    parser.add_argument("--concurrency", type=int, default=16, help="jobs in flight at once")
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = measure(args.jobs, args.tiny_workers, args.concurrency, args.max_tokens, args.seed)
    share = f"{100 * report['share_on_own_model']:.1f} %"
    print(f"{report['on_own_model']} of {report['ran_on_a_worker']} jobs ran on a worker of their model ({share}); "
          f"{report['succeeded']} of {report['jobs']} succeeded in {report['wall_s']} s")  # fmt: skip
    for model, figures in report["per_model"].items():
        print(f"  {model}: {figures}")
    if args.json:
        write_json(report, args.json)


if __name__ == "__main__":
    main()
