"""Admission control under a burst, side by side with its goals: `llmjobs up` in a folder of its own.

    python -m loadtest.admission --json out.json

1. Burst: 16 clients submit 20 jobs each at once with ``LLMJOBS_MAX_QUEUED=48``: every answer is
   202 or 429, every 429 has ``Retry-After``, the queue depth (sampled every 20 ms) never exceeds
   the bound, submit latency, and every accepted job succeeds.
2. Priority: ~100 priority-9 jobs queued, then one priority-0 job: how many jobs started between
   its submit and its own start (goal: it takes the next free slot).
3. Rate: one tenant submits 45 jobs in quick succession at 30/min: accepted vs refused, and
   another tenant's request in the same second.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import httpx
import redis

from loadtest.chaos import follow
from loadtest.chaos_stack import Stack
from loadtest.driver import closed_loop
from loadtest.report import write_json
from loadtest.stats import percentile

BOUND = 48
JOB = {"prompt": "Say hi in three words.", "max_tokens": 8, "temperature": 0, "cache": False}


def burst(stack: Stack, keys: dict[str, str]) -> dict:
    depth = {"max": 0}
    stop = threading.Event()
    client = redis.Redis.from_url(stack.redis_url)

    def watch() -> None:
        while not stop.is_set():
            depth["max"] = max(depth["max"], client.zcard("llmjobs:queued"))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()

    def submit(_: int) -> tuple[int, float, str | None, str | None]:
        started = time.perf_counter()
        response = httpx.post(f"{stack.base_url}/v1/jobs", json=JOB, headers=keys, timeout=30)
        job_id = response.json().get("id") if response.status_code == 202 else None
        return response.status_code, time.perf_counter() - started, response.headers.get("Retry-After"), job_id

    answers = closed_loop(range(16 * 20), 16, submit)
    accepted = [a[3] for a in answers if a[0] == 202]
    finals = closed_loop(accepted, 16, lambda job_id: follow(stack.base_url, job_id, time.monotonic() + 300, keys).final or {})
    stop.set()
    watcher.join()
    codes = [a[0] for a in answers]
    return {
        "submits": len(answers),
        "status_counts": {str(code): codes.count(code) for code in sorted(set(codes))},
        "429_without_retry_after": sum(1 for a in answers if a[0] == 429 and not a[2]),
        "queue_depth_max": depth["max"],
        "bound": BOUND,
        "submit_p50_ms": round(percentile([a[1] for a in answers], 50) * 1000, 1),
        "submit_p95_ms": round(percentile([a[1] for a in answers], 95) * 1000, 1),
        "accepted_succeeded": sum(1 for f in finals if f.get("status") == "succeeded"),
        "accepted": len(accepted),
    }


def priority(stack: Stack, keys: dict[str, str]) -> dict:
    low = [httpx.post(f"{stack.base_url}/v1/jobs", json={**JOB, "priority": 9}, headers=keys).json()["id"] for _ in range(40)]
    urgent = httpx.post(f"{stack.base_url}/v1/jobs", json={**JOB, "priority": 0}, headers=keys).json()["id"]
    follow(stack.base_url, urgent, time.monotonic() + 300, keys)
    records = [httpx.get(f"{stack.base_url}/v1/jobs/{job_id}", headers=keys).json() for job_id in [*low, urgent]]
    mine = records[-1]
    started_after_submit = [r for r in records[:-1] if r["started_at"] and mine["created_at"] < r["started_at"] < mine["started_at"]]
    for job_id in low:
        follow(stack.base_url, job_id, time.monotonic() + 300, keys)
    return {"queued_before_it": len(low), "low_jobs_started_between_its_submit_and_its_start": len(started_after_submit)}


def rate(stack: Stack) -> dict:
    codes = [httpx.post(f"{stack.base_url}/v1/jobs", json=JOB, headers={"Authorization": "Bearer ka"}).status_code for _ in range(45)]
    other = httpx.post(f"{stack.base_url}/v1/jobs", json=JOB, headers={"Authorization": "Bearer kb"}).status_code
    return {"submits": 45, "accepted": codes.count(202), "refused_429": codes.count(429), "other_tenant": other}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.admission", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = {}
    settings = {"LLMJOBS_MAX_QUEUED": str(BOUND), "LLMJOBS_API_KEYS": "ka:alice:30,kb:bob:30,kq:load:0", "LLMJOBS_API_WORKERS": "2"}
    with tempfile.TemporaryDirectory(prefix="llmjobs-admission-") as folder:
        stack = Stack(Path(folder), env=settings)
        try:
            load = {"Authorization": "Bearer kq"}  # the load tenant has no rate limit: only the bound applies
            report["burst"] = burst(stack, load)
            print(json.dumps(report["burst"]), flush=True)
            report["priority"] = priority(stack, load)
            print(json.dumps(report["priority"]), flush=True)
            report["rate"] = rate(stack)
            print(json.dumps(report["rate"]), flush=True)
        finally:
            stack.stop()
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
