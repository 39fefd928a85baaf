"""Speculative decoding on an input-grounded workload, with and without, side by side:
``python -m app.engine.spec_bench --json out.json``.

One model load, two batching engines over the same weights (``off`` and ``prompt-lookup``),
alternated round by round. The workload rewrites paragraphs of the shipped
``loadtest/workloads/sentences.txt`` (the answer copies most of its input, as summaries,
rewrites and extractions do). Greedy, so both engines produce the same tokens and the
comparison is of equal work. Concurrency 1 (one request at a time) and 32 (all at once).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import replace
from pathlib import Path

from app.config import load_config
from app.engine import engine_for
from app.engine.types import GenerationRequest, SamplingParams
from app.models import context_length, load_model, resolve

ROOT = Path(__file__).resolve().parents[2]
INSTRUCTION = "Rewrite the following text in the past tense. Keep every sentence and every detail:\n\n"


def paragraphs(count: int, sentences: int = 4) -> list[str]:
    lines = [line for line in (ROOT / "loadtest" / "workloads" / "sentences.txt").read_text().splitlines() if line.strip()]
    return [" ".join(lines[(i * sentences + k) % len(lines)] for k in range(sentences)) for i in range(count)]


def run(engine, requests: list[GenerationRequest], concurrency: int) -> tuple[float, int]:
    """(seconds, tokens) for ``requests`` with ``concurrency`` in flight (closed loop)."""
    tokens, lock, pending = [0], threading.Lock(), list(requests)

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                request = pending.pop(0)
            completion = engine.generate(request)
            with lock:
                tokens[0] += completion.completion_tokens

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, tokens[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.engine.spec_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--requests", type=int, nargs="+", default=[4, 32], help="requests per round, one number per level")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    config = load_config()
    model, tokenizer, device = load_model(config.model)
    engines = {
        mode: engine_for(replace(config.worker, engine="batching", speculative=mode), model, tokenizer, device=device,
                         model_name=resolve(config.model).name, context_length=context_length(config.model))
        for mode in ("off", "prompt-lookup")
    }
    texts = paragraphs(max(args.requests))
    sampling = SamplingParams(max_tokens=args.max_tokens, temperature=0.0)
    prompts = [list(tokenizer.apply_chat_template([{"role": "user", "content": INSTRUCTION + t}], add_generation_prompt=True, tokenize=True, return_dict=False)) for t in texts]
    for engine in engines.values():  # warm-up, and fill each engine's prefix cache alike
        run(engine, [GenerationRequest("w", prompts[0], replace(sampling, max_tokens=8))], 1)
    results = []
    for level, count in zip(args.levels, args.requests, strict=True):
        totals = {mode: [0.0, 0] for mode in engines}
        for round_ in range(args.rounds):
            for mode, engine in engines.items():
                requests = [GenerationRequest(f"{mode}-{round_}-{i}", prompts[i], sampling) for i in range(count)]
                seconds, tokens = run(engine, requests, level)
                totals[mode][0] += seconds
                totals[mode][1] += tokens
        spec = engines["prompt-lookup"]
        row = {
            "concurrency": level,
            "requests_per_round": count,
            "off_tok_s": round(totals["off"][1] / totals["off"][0], 2),
            "prompt_lookup_tok_s": round(totals["prompt-lookup"][1] / totals["prompt-lookup"][0], 2),
        }
        row["speedup"] = round(row["prompt_lookup_tok_s"] / row["off_tok_s"], 3)
        row["acceptance_rate_so_far"] = round(spec.num_accepted_tokens / max(1, spec.num_draft_tokens), 3)
        row["mean_accepted_per_pass_so_far"] = round(spec.num_accepted_tokens / max(1, spec.num_drafts), 2)
        results.append(row)
        print(json.dumps(row), flush=True)
    for engine in engines.values():
        engine.close()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"max_tokens": args.max_tokens, "rounds": args.rounds, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
