"""Where a burst's time to first token goes: N distinct prompts submitted at once to a running
stack, each streamed by its own client, each job's time split into the stages of its path.

    python -m loadtest.burst --url http://127.0.0.1:8000 --requests 32 --max-tokens 16

Per job (clocks of one machine: the client's, the API's and the worker's epoch times agree):
- ``submit``: the client's POST until its 202 (tokenize, result-cache lookup, store, send the task);
- ``to_claim``: the job's creation until a worker claimed it (Celery delivering the message to a
  task thread, the claim in Redis);
- ``to_first_token``: the claim until the worker had the first token (prompt built again, engine
  queue, prefill);
- ``delivery``: the worker's first token until the client read it (publish, pub/sub, SSE);
- ``ttft``: the client's POST until it read the first token (the sum, as the client sees it).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import httpx

from loadtest.report import write_json
from loadtest.stats import percentile
from loadtest.workloads import load

STAGES = ("submit", "to_claim", "to_first_token", "delivery", "ttft")


def one(client: httpx.Client, url: str, prompt: str, max_tokens: int, headers: dict[str, str], go: threading.Event) -> dict[str, float]:
    go.wait()
    sent = time.time()
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True}
    job = client.post(f"{url}/v1/jobs", json=body, headers=headers, timeout=60).raise_for_status().json()
    accepted = time.time()
    first = None
    query = {"token": job["stream_token"]} if job.get("stream_token") else {}
    with client.stream("GET", f"{url}/v1/jobs/{job['id']}/events", params=query, headers=headers, timeout=120) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                first = first or time.time()
                if json.loads(line[6:])["type"] == "final":
                    break
    record = client.get(f"{url}/v1/jobs/{job['id']}", headers=headers, timeout=30).json()
    created, started = float(record["created_at"]), float(record["started_at"])
    worker_first = created + float(record["timings"]["ttft_s"])
    assert first is not None
    return {
        "submit": accepted - sent,
        "to_claim": started - created,
        "to_first_token": worker_first - started,
        "delivery": first - worker_first,
        "ttft": first - sent,
    }


def burst(url: str, requests: int, max_tokens: int, headers: dict[str, str], block: int = 0) -> dict:
    """One burst of the ``block``-th ``requests`` prompts of the distinct workload (no two bursts share one)."""
    items = load("distinct_chat")[block * requests : (block + 1) * requests]
    assert len(items) == requests, "past the end of the workload: use a smaller --first-block"
    prompts = [item["messages"][0]["content"] for item in items]
    go, results = threading.Event(), [None] * requests
    # One client for every thread: a new httpx client per request builds an SSL context (~20 ms
    # of CPU each), which on a small machine would be measured as the server's latency.
    client = httpx.Client(limits=httpx.Limits(max_connections=2 * requests))

    def run(i: int) -> None:
        results[i] = one(client, url, prompts[i], max_tokens, headers, go)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(requests)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join()
    client.close()
    return {
        stage: {"p50_ms": round(percentile([r[stage] for r in results], 50) * 1000, 1),
                "p95_ms": round(percentile([r[stage] for r in results], 95) * 1000, 1)}
        for stage in STAGES
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.burst", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="bursts, each with prompts not seen before")
    parser.add_argument(
        "--first-block", type=int, default=0, help="skip this many bursts' worth of prompts (a stack whose result cache saw them)"
    )
    parser.add_argument("--api-key")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    rounds = []
    for n in range(args.rounds):
        rounds.append(burst(args.url, args.requests, args.max_tokens, headers, block=args.first_block + n))
        print(json.dumps(rounds[-1]), flush=True)
        time.sleep(2)
    if args.json:
        write_json({"url": args.url, "requests": args.requests, "max_tokens": args.max_tokens, "rounds": rounds}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
