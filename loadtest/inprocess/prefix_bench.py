"""Prefix reuse to the token against whole blocks only, side by side in one process:
``python -m loadtest.inprocess.prefix_bench --json out.json``.

A burst of distinct chat prompts (``loadtest/workloads/short_chat.jsonl``) after one unrelated
prompt warmed the prefix cache: with whole 16-token blocks a prompt reuses 16 of the 24 template
tokens it shares; to the token, all 24. One model load; the two engines alternate round by
round; each round's figure is the burst's time to the last first token (every request asks for
one token, so this is the prefill of the burst).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from app.config import load_config
from app.engine import engine_for
from app.engine.loader import load_model
from app.engine.types import GenerationRequest, SamplingParams
from loadtest.inprocess.driver import chat_ids, drive, short_chat_questions
from loadtest.report import write_json


def burst(engine, prompts: list[list[int]]) -> float:
    """Seconds until every prompt has its one token (all sent at once)."""
    sampling = SamplingParams(max_tokens=1, temperature=0.0)
    return drive(engine, [GenerationRequest(str(i), prompt, sampling) for i, prompt in enumerate(prompts)], len(prompts)).wall_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.prefix_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=31)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    config = load_config()
    model, tokenizer, device = load_model(config.model)
    worker_config = replace(config.worker, engine="batching")  # the prefix cache is the batching engine's
    name, context_length = config.model.source().name, config.model.context_length_of(model.config)
    prompts = [chat_ids(tokenizer, question) for question in short_chat_questions()][: args.requests]
    warm = chat_ids(tokenizer, "Zebras: black with white stripes, or white with black?")
    times: dict[str, list[float]] = {"tokens": [], "blocks": []}
    hits: dict[str, int] = {}
    for _ in range(args.rounds):
        for mode, spent in times.items():
            engine = engine_for(worker_config, model, tokenizer, device=device, model_name=name, context_length=context_length)
            engine.prefix_cache.to_the_token = mode == "tokens"  # blocks: the baseline, reuse stops at the last whole block
            engine.generate(GenerationRequest("warm", warm, SamplingParams(max_tokens=1, temperature=0.0)))
            spent.append(burst(engine, prompts))
            hits[mode] = engine.prefix_cache.num_hit_tokens
            engine.close()
    result = {
        "requests": len(prompts),
        "rounds": args.rounds,
        "burst_s": {mode: [round(t, 3) for t in values] for mode, values in times.items()},
        "reused_tokens_per_burst": hits,
        "tokens_vs_blocks": round(sum(times["tokens"]) / sum(times["blocks"]), 3),
    }
    print(json.dumps(result))
    if args.json:
        write_json(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
