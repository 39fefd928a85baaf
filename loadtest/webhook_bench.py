"""Webhook delivery latency at a steady rate of job ends, against polling, in one run on one `llmjobs up` stack:

1. webhooks: jobs submitted open-loop at ``--rate`` for ``--seconds``, each with a webhook to a receiver in this
   process (which verifies every call with ``standardwebhooks``): the time from each job's end (its
   ``finished_at``) to its call arriving, p50 / p95 / max, and whether every job's call came, once;
2. polling, the baseline (what a client does without webhooks): the same workload without webhooks, each job
   polled with ``GET /v1/jobs/<id>`` every ``--poll-interval`` from its submit until it has ended: the time from its
   end to the poll that saw it, and the requests per second the polling cost the API.

Most jobs are answered from the result cache (``--prompts`` distinct prompts, the first of each generated), so
that jobs end at the submit rate whatever the worker's speed; one in ``--generate-every`` is a new prompt the
worker generates (4 tokens). Latencies are reported for both kinds.

    python -m loadtest.webhook_bench --json docs/benchmarks/webhooks.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from app.cli.embedded_redis import free_port
from app.cli.keys import new_webhook_secret
from loadtest.chaos_stack import Stack
from loadtest.report import write_json
from loadtest.stats import distribution
from loadtest.webhook_receiver import Receiver


def job_body(i: int, prompts: int, generate_every: int) -> dict:
    generated = generate_every > 0 and i % generate_every == 0
    prompt = f"Tell me a fact about the number {i}." if generated else f"Name a colour (question {i % prompts})."
    return {"prompt": prompt, "temperature": 0, "max_tokens": 4}


def open_loop(count: int, rate: float, fn, workers: int = 256) -> list:
    """Call ``fn(i)`` for i < count at ``rate`` per second, whatever each call takes."""
    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        futures = []
        for i in range(count):
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
            futures.append(pool.submit(fn, i))
        return [future.result() for future in futures]


def warm_cache(http: httpx.Client, prompts: int) -> None:
    """The first answer of each cached prompt, generated once before timing."""
    for i in range(prompts):
        job = http.post("/v1/jobs", json=job_body(i, prompts, 0)).json()
        while http.get(f"/v1/jobs/{job['id']}").json()["status"] not in ("succeeded", "failed"):
            time.sleep(0.05)


def webhooks_phase(http: httpx.Client, receiver: Receiver, args: argparse.Namespace) -> dict:
    count = int(args.rate * args.seconds)
    url = receiver.url("bench")
    ids = open_loop(
        count,
        args.rate,
        lambda i: http.post("/v1/jobs", json={**job_body(i, args.prompts, args.generate_every), "webhook": url}).json()["id"],
    )
    deadline = time.monotonic() + 120
    while len({d.headers["webhook-id"] for d in receiver.accepted("bench")}) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    calls = receiver.accepted("bench")
    by_id: dict[str, list] = {}
    for call in calls:
        by_id.setdefault(call.headers["webhook-id"], []).append(call)
    latency = {"cached": [], "generated": []}
    for first in (found[0] for found in by_id.values()):
        data = first.payload["data"]
        latency["cached" if data.get("cached") else "generated"].append(first.received_at - data["finished_at"])
    unverified = [call for call in receiver.received("bench") if call.payload is None]
    return {
        "jobs": count,
        "calls_accepted": len(calls),
        "missing": len(set(f"msg_{job_id}" for job_id in ids) - set(by_id)),
        "duplicates": sum(len(found) - 1 for found in by_id.values()),
        "unverified": len(unverified),
        "latency_s": {kind: distribution(values) for kind, values in latency.items()},
        "latency_all_s": distribution(latency["cached"] + latency["generated"]),
    }


def polling_phase(http: httpx.Client, args: argparse.Namespace) -> dict:
    count = int(args.rate * args.seconds)
    polls = [0]
    lock = threading.Lock()

    def one(i: int) -> tuple[float, bool]:
        job_id = http.post("/v1/jobs", json=job_body(i + 1_000_000, args.prompts, args.generate_every)).json()["id"]
        while True:
            time.sleep(args.poll_interval)
            record = http.get(f"/v1/jobs/{job_id}").json()
            with lock:
                polls[0] += 1
            if record["finished_at"] is not None:
                return time.time() - record["finished_at"], record["cached"]

    start = time.monotonic()
    seen = open_loop(count, args.rate, one, workers=int(args.rate * (args.poll_interval + 2)) + 64)
    wall = time.monotonic() - start
    return {
        "jobs": count,
        "poll_interval_s": args.poll_interval,
        "polls": polls[0],
        "poll_requests_per_s": round(polls[0] / wall, 1),
        "latency_s": {
            "cached": distribution([s for s, cached in seen if cached]),
            "generated": distribution([s for s, cached in seen if not cached]),
        },
        "latency_all_s": distribution([s for s, _ in seen]),
    }


def run(args: argparse.Namespace) -> dict:
    secret, port = new_webhook_secret(), free_port()
    receiver = Receiver(port, secret).start()
    env = {"LLMJOBS_CACHE": "on", "LLMJOBS_CACHE_SEMANTIC": "off", "LLMJOBS_MAX_QUEUED": "4096", "LLMJOBS_WEBHOOK_SECRET": secret,
           "LLMJOBS_WEBHOOK_ALLOW": f"127.0.0.1:{port}"}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="llmjobs-webhook-bench-") as tmp:
        stack = Stack(Path(tmp), env=env)
        try:
            with httpx.Client(base_url=stack.base_url, timeout=30, limits=httpx.Limits(max_connections=512)) as http:
                warm_cache(http, args.prompts)
                webhooks = webhooks_phase(http, receiver, args)
                polling = polling_phase(http, args)
        finally:
            stack.stop()
            receiver.stop()
    p95 = lambda phase: (phase["latency_all_s"] or {}).get("p95", float("nan"))  # noqa: E731
    return {
        "rate_jobs_per_s": args.rate,
        "seconds": args.seconds,
        "webhooks": webhooks,
        "polling": polling,
        "p95_webhook_over_polling": round(p95(webhooks) / p95(polling), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.webhook_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50, help="jobs submitted (and ended) per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--prompts", type=int, default=16, help="distinct cached prompts")
    parser.add_argument("--generate-every", type=int, default=10, help="one job in N is generated by the worker (0: none)")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="the baseline's polling interval (s)")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2))
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
