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
from pathlib import Path

from app.config import load_config
from app.engine import engine_for
from app.engine.loader import load_model
from app.engine.prefix_cache import PrefixCache
from app.engine.types import GenerationRequest, SamplingParams
from loadtest.inprocess.spec_bench import run
from loadtest.report import write_json

ROOT = Path(__file__).resolve().parents[1]


class BlockPrefixCache(PrefixCache):
    """The baseline: reuse stops at the last whole block."""

    def _match(self, tokens):  # noqa: ANN001, ANN202 - as the parent
        entry, length = super()._match(tokens)
        return entry, length // self.block_size * self.block_size


def burst(engine, prompts: list[list[int]]) -> float:
    """Seconds until every prompt has its one token (all sent at once)."""
    sampling = SamplingParams(max_tokens=1, temperature=0.0)
    return run(engine, [GenerationRequest(str(i), prompt, sampling) for i, prompt in enumerate(prompts)], len(prompts))[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.prefix_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=31)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    config = load_config()
    model, tokenizer, device = load_model(config.model)

    def chat(content: str) -> list[int]:
        return list(tokenizer.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True, tokenize=True, return_dict=False))

    lines = (ROOT / "loadtest" / "workloads" / "short_chat.jsonl").read_text().splitlines()
    prompts = [chat(json.loads(line)["messages"][-1]["content"]) for line in lines][: args.requests]
    warm = chat("Zebras: black with white stripes, or white with black?")
    times: dict[str, list[float]] = {"tokens": [], "blocks": []}
    hits: dict[str, int] = {}
    for _ in range(args.rounds):
        for mode in times:
            engine = engine_for(config.worker, model, tokenizer, device=device, model_name="m", context_length=8192)
            if mode == "blocks":
                engine.prefix_cache.__class__ = BlockPrefixCache
            engine.generate(GenerationRequest("warm", warm, SamplingParams(max_tokens=1, temperature=0.0)))
            times[mode].append(burst(engine, prompts))
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
