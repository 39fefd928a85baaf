"""Faults during a batch: run `llmjobs up`, submit a batch with the official `openai` client, break
something while its lines run (a worker, the API or Redis killed with SIGKILL), and check the files:
every line exactly once in the output or error file, outputs equal to an uninterrupted greedy run.

    python -m loadtest.batch_chaos --scenario worker-kill --rounds 3 --lines 16 --json out.json

The quick subset in tests/integration/test_batch_faults.py uses the same code.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import openai

from loadtest.chaos import PROMPTS, inject
from loadtest.chaos_stack import Stack
from loadtest.report import write_json

SCENARIOS = ("worker-kill", "api-kill", "redis-kill")
MODEL = "smollm2-135m-instruct"
ENDED = ("completed", "failed", "expired", "cancelled")
# Lines go in windows of this many, so a fault finds lines done, running and not yet fed.
STACK_ENV = {"LLMJOBS_BATCH_MAX_INFLIGHT": "4"}


def batch_lines(count: int) -> list[dict]:
    """Greedy chat requests of varied lengths (so they end at different times), custom ids l0, l1, ..."""
    return [{"custom_id": f"l{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": MODEL, "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                      "max_tokens": 8 + 6 * (i % 5), "temperature": 0}} for i in range(count)]  # fmt: skip


def client_of(stack: Stack) -> openai.OpenAI:
    # Retries with backoff: during a fault the API answers 503 or not at all for a moment.
    return openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key="unused", max_retries=10, timeout=10)


def run_batch(stack: Stack, lines: list[dict], fault: str | None, folder: Path, timeout_s: float = 600) -> dict:
    client = client_of(stack)
    path = folder / f"batch-{time.monotonic_ns()}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with path.open("rb") as source:
        file_id = client.files.create(file=source, purpose="batch").id
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    deadline, fault_at = time.monotonic() + timeout_s, None
    while batch.status not in ENDED and time.monotonic() < deadline:
        time.sleep(0.25)
        batch = _retrieve(client, batch.id) or batch
        if fault is not None and fault_at is None and batch.request_counts and batch.request_counts.completed >= 2:
            fault_at = time.monotonic()
            inject(stack, fault)
    outputs = _lines(client, batch.output_file_id)
    errors = _lines(client, batch.error_file_id)
    return {"batch": batch.model_dump(), "outputs": outputs, "errors": errors,
            "fault_to_end_s": round(time.monotonic() - fault_at, 1) if fault_at else None}  # fmt: skip


def _retrieve(client: openai.OpenAI, batch_id: str):
    try:
        return client.batches.retrieve(batch_id)
    except (openai.APIConnectionError, openai.InternalServerError):  # the API or Redis is coming back
        return None


def _lines(client: openai.OpenAI, file_id: str | None) -> list[dict]:
    return [] if file_id is None else [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def judge(result: dict, lines: list[dict], reference: dict[str, str]) -> dict:
    """Lines missing, seen twice, failed, or answered differently from the clean run."""
    seen = Counter(line["custom_id"] for line in result["outputs"] + result["errors"])
    expected = {line["custom_id"] for line in lines}
    wrong = sum(
        1
        for line in result["outputs"]
        if reference and line["response"]["body"]["choices"][0]["message"]["content"] != reference[line["custom_id"]]
    )
    return {
        "status": result["batch"]["status"],
        "lines": len(lines),
        "missing": len(expected - set(seen)),
        "duplicates": sum(n - 1 for n in seen.values() if n > 1),
        "failed": len(result["errors"]),
        "wrong_outputs": wrong,
        "fault_to_end_s": result["fault_to_end_s"],
    }


def reference_of(result: dict) -> dict[str, str]:
    return {line["custom_id"]: line["response"]["body"]["choices"][0]["message"]["content"] for line in result["outputs"]}


def run(scenario: str, rounds: int, count: int) -> dict:
    lines = batch_lines(count)
    with tempfile.TemporaryDirectory(prefix="llmjobs-batch-chaos-") as name:
        folder = Path(name)
        stack = Stack(folder, env=STACK_ENV)
        try:
            reference = reference_of(run_batch(stack, lines, None, folder))
            report = {"scenario": scenario, "lines": count, "rounds": []}
            for _ in range(rounds):
                figures = judge(run_batch(stack, lines, scenario, folder), lines, reference)
                report["rounds"].append(figures)
                print(json.dumps(figures), flush=True)
                stack.wait_ready(120)
            return report
        finally:
            stack.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m loadtest.batch_chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="worker-kill")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=16)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = run(args.scenario, args.rounds, args.lines)
    bad = sum(r["missing"] + r["duplicates"] + r["failed"] + r["wrong_outputs"] + (r["status"] != "completed") for r in report["rounds"])
    if args.json:
        write_json(report, args.json)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
