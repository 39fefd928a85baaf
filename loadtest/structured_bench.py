"""Structured outputs' cost, in one run on one `llmjobs up` stack (its own Redis and ports), through the `openai` client:

1. throughput: ``--requests`` streaming chat requests, ``--streams`` (32) at once, unconstrained, then the same
   prompts with a JSON schema (``response_format``); output tokens per second of each phase (completion tokens
   over the phase's wall time) and their ratio (goal >= 0.9);
2. compile: ``--compile-requests`` requests one at a time, each with a schema never seen before (a new property
   name: a cache miss, compiled in the worker's task thread), against the same number with one repeated schema
   (compiled once): TTFT p50 / p95 of each and what the new schema adds (goal p95 < 50 ms).

    python -m loadtest.structured_bench --json docs/benchmarks/structured.json
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
from loadtest.report import write_json
from loadtest.stats import percentile

MODEL = "smollm2-135m-instruct"
WORD = {"type": "string", "minLength": 1, "maxLength": 12}
LIST_SCHEMA = {"type": "object", "properties": {"items": {"type": "array", "minItems": 8, "maxItems": 8, "items": {
    "type": "object", "properties": {"word": WORD, "count": {"type": "integer", "minimum": 0, "maximum": 999}},
    "required": ["word", "count"]}}}, "required": ["items"]}  # fmt: skip


def response_format(schema: dict, name: str = "shape") -> dict:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}


def one_stream(client: openai.OpenAI, i: int, max_tokens: int, fmt: dict | None) -> tuple[float, int]:
    """(TTFT s, completion tokens) of one streamed request."""
    extra = {"response_format": fmt} if fmt else {"extra_body": {"ignore_eos": True}}
    start, first, tokens = time.perf_counter(), None, 0
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": f"List eight things in room {i}, with how many of each, as JSON."}],
        max_tokens=max_tokens, temperature=0, stream=True, stream_options={"include_usage": True}, **extra,
    )  # fmt: skip
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    return first if first is not None else float("nan"), tokens


def throughput(client: openai.OpenAI, count: int, streams: int, max_tokens: int, fmt: dict | None, offset: int) -> dict:
    start = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        results = list(pool.map(lambda i: one_stream(client, offset + i, max_tokens, fmt), range(count)))
    wall = time.perf_counter() - start
    tokens = sum(t for _, t in results)
    return {"requests": count, "wall_s": round(wall, 2), "completion_tokens": tokens, "out_tok_per_s": round(tokens / wall, 1),
            "mean_tokens": round(tokens / count, 1), "ttft_p95_s": round(percentile([t for t, _ in results], 95), 3)}  # fmt: skip


def ttfts(client: openai.OpenAI, count: int, schema_of, offset: int) -> list[float]:
    return [one_stream(client, offset + i, 24, response_format(schema_of(i)))[0] for i in range(count)]


def new_schema(i: int) -> dict:
    """A schema no earlier request had: one more property, named after the request."""
    schema = json.loads(json.dumps(LIST_SCHEMA))
    schema["properties"][f"note_{i}_{time.time_ns()}"] = WORD
    return schema


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_s": round(percentile(values, 50), 4), "p95_s": round(percentile(values, 95), 4)}


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="llmjobs-structured-bench-") as name:
        stack = Stack(Path(name), env={"LLMJOBS_MAX_QUEUED": "1024"})
        try:
            client = openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key="unused", max_retries=3, timeout=600)
            throughput(client, 8, 8, 16, response_format(LIST_SCHEMA), offset=90_000)  # warm-up: the model, the tokenizer, the schema
            plain = throughput(client, args.requests, args.streams, args.max_tokens, None, offset=0)
            constrained = throughput(client, args.requests, args.streams, args.max_tokens, response_format(LIST_SCHEMA), offset=0)
            repeated = summary(ttfts(client, args.compile_requests, lambda i: LIST_SCHEMA, offset=50_000))
            fresh = summary(ttfts(client, args.compile_requests, new_schema, offset=60_000))
        finally:
            stack.stop()
    return {
        "streams": args.streams, "requests": args.requests, "max_tokens": args.max_tokens,
        "unconstrained": plain, "json_schema": constrained,
        "out_tok_per_s_ratio_constrained_over_plain": round(constrained["out_tok_per_s"] / plain["out_tok_per_s"], 3),
        "ttft_repeated_schema": repeated, "ttft_new_schema": fresh,
        "ttft_p95_added_by_a_new_schema_s": round(fresh["p95_s"] - repeated["p95_s"], 4),
        "ttft_p50_added_by_a_new_schema_s": round(fresh["p50_s"] - repeated["p50_s"], 4),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.structured_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=32)
    parser.add_argument("--requests", type=int, default=64, help="requests per throughput phase")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--compile-requests", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2))
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
