"""Batch fairness and throughput, in one run on one `llmjobs up` stack (its own Redis and ports):

1. interactive streams alone: TTFT of ``--streams`` concurrent streaming chat requests (idle);
2. the same interactive streams while a ``--batch-lines`` batch runs: their TTFT (goal: p95 within 2x
   of idle) and the batch's lines finished meanwhile (it must still progress); the batch is then
   cancelled;
3. batch alone: a batch of ``--throughput-lines`` requests, lines/s from its ``in_progress_at`` ... end;
4. the same requests through ``/v1/chat/completions`` at ``--concurrency`` (32) at once: requests/s.

    python -m loadtest.batch_bench --json docs/benchmarks/batch.json

Every request generates exactly ``--max-tokens`` (``ignore_eos``), so the batch and online phases do
equal work; the requests go through the official `openai` client.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai

from loadtest.chaos_stack import Stack
from loadtest.driver import closed_loop
from loadtest.report import write_json
from loadtest.stats import percentile

MODEL = "smollm2-135m-instruct"
QUESTIONS = ["Name three rivers in Europe.", "Write a haiku about the sea.", "Explain what a CPU does.", "List four colours.",
             "What is 12 times 12?", "Describe a cat.", "Why is the sky blue?", "Give me a recipe for soup."]  # fmt: skip


def body(i: int, max_tokens: int) -> dict:
    question = f"{QUESTIONS[i % len(QUESTIONS)]} (request {i})"  # distinct prompts: no answer from the result cache
    return {"model": MODEL, "messages": [{"role": "user", "content": question}], "max_tokens": max_tokens,
            "temperature": 0, "ignore_eos": True}  # fmt: skip


def interactive(client: openai.OpenAI, count: int, streams: int, max_tokens: int, offset: int) -> list[float]:
    """TTFT (s) of ``count`` streaming requests, ``streams`` at once."""

    def one(i: int) -> float:
        extra = body(offset + i, max_tokens)
        start = time.perf_counter()
        stream = client.chat.completions.create(**{k: v for k, v in extra.items() if k != "ignore_eos"}, stream=True,
                                                extra_body={"ignore_eos": True})  # fmt: skip
        first = None
        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - start
        return first if first is not None else float("nan")

    return closed_loop(range(count), streams, one)


def start_batch(client: openai.OpenAI, folder: Path, count: int, max_tokens: int, offset: int) -> str:
    path = folder / f"batch-{offset}.jsonl"
    lines = [
        {"custom_id": f"b{i}", "method": "POST", "url": "/v1/chat/completions", "body": body(offset + i, max_tokens)} for i in range(count)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with path.open("rb") as source:
        file_id = client.files.create(file=source, purpose="batch").id
    return client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h").id


def wait_for(client: openai.OpenAI, batch_id: str, done, timeout_s: float = 1800):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = client.batches.retrieve(batch_id)
        if done(batch):
            return batch
        time.sleep(0.25)
    raise TimeoutError(f"batch {batch_id}: {client.batches.retrieve(batch_id)}")


def summary(ttfts: list[float]) -> dict:
    return {"n": len(ttfts), "p50_s": round(percentile(ttfts, 50), 3), "p95_s": round(percentile(ttfts, 95), 3)}


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="llmjobs-batch-bench-") as name:
        folder = Path(name)
        stack = Stack(folder, env={"LLMJOBS_MAX_QUEUED": "1024"})
        try:
            client = openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key="unused", max_retries=3, timeout=600)
            interactive(client, 4, args.streams, args.max_tokens, offset=90_000)  # warm-up
            idle = interactive(client, args.interactive, args.streams, args.max_tokens, offset=0)
            big = start_batch(client, folder, args.batch_lines, args.max_tokens, offset=10_000)
            wait_for(client, big, lambda b: b.request_counts and b.request_counts.completed >= 4)
            before = client.batches.retrieve(big).request_counts.completed
            t0 = time.perf_counter()
            during = interactive(client, args.interactive, args.streams, args.max_tokens, offset=1_000)
            during_s = time.perf_counter() - t0
            progressed = client.batches.retrieve(big).request_counts.completed - before
            client.batches.cancel(big)
            wait_for(client, big, lambda b: b.status == "cancelled")
            t_batch = time.perf_counter()  # upload to the end seen by polling: what its user waits
            alone = start_batch(client, folder, args.throughput_lines, args.max_tokens, offset=20_000)
            ended = wait_for(client, alone, lambda b: b.status in ("completed", "failed", "expired", "cancelled"))
            batch_s = round(time.perf_counter() - t_batch, 1)
            assert ended.status == "completed" and ended.request_counts.completed == args.throughput_lines, ended
            online_bodies = [body(30_000 + i, args.max_tokens) for i in range(args.throughput_lines)]
            t1 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(lambda b: client.chat.completions.create(**{k: v for k, v in b.items() if k != "ignore_eos"},
                                                                       extra_body={"ignore_eos": True}), online_bodies))  # fmt: skip
            online_s = time.perf_counter() - t1
        finally:
            stack.stop()
    idle_s, during_summary = summary(idle), summary(during)
    return {
        "streams": args.streams, "interactive_requests": args.interactive, "max_tokens": args.max_tokens,
        "batch_lines": args.batch_lines, "throughput_lines": args.throughput_lines, "online_concurrency": args.concurrency,
        "ttft_idle": idle_s, "ttft_during_batch": during_summary,
        "ttft_p95_ratio_during_over_idle": round(during_summary["p95_s"] / idle_s["p95_s"], 2),
        "batch_lines_finished_during_interactive": progressed, "interactive_phase_s": round(during_s, 1),
        "batch_alone_s": batch_s, "batch_lines_per_s": round(args.throughput_lines / batch_s, 3),
        "online_s": round(online_s, 1), "online_requests_per_s": round(args.throughput_lines / online_s, 3),
        "batch_over_online_ratio": round((args.throughput_lines / batch_s) / (args.throughput_lines / online_s), 2),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.batch_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=4, help="interactive streams at once")
    parser.add_argument("--interactive", type=int, default=24, help="interactive requests per phase")
    parser.add_argument("--batch-lines", type=int, default=400)
    parser.add_argument("--throughput-lines", type=int, default=128)
    parser.add_argument("--concurrency", type=int, default=32, help="online requests at once in the throughput comparison")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2))
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
