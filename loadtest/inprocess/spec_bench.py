"""Speculative decoding on an input-grounded workload, with and without, side by side:
``python -m loadtest.inprocess.spec_bench --json out.json``.

One model load, one batching engine per mode over the same weights (``off``, ``prompt-lookup``,
and ``draft-model`` when ``--draft`` names a model folder or ``--draft-layers N`` builds one from
the target's first N layers), alternated round by round. The workload rewrites paragraphs of the
shipped ``loadtest/workloads/sentences.txt`` (the answer copies most of its input, as summaries,
rewrites and extractions do). Greedy, so both engines produce the same tokens and the comparison
is of equal work. Concurrency 1 (one request at a time) and 32 (all at once), in a closed loop.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

from app.config import load_config
from app.engine import engine_for
from app.engine.loader import load_draft_model, load_model
from app.engine.types import GenerationRequest, SamplingParams
from loadtest.inprocess.driver import chat_ids, drive
from loadtest.workloads import FOLDER

INSTRUCTION = "Rewrite the following text in the past tense. Keep every sentence and every detail:\n\n"


def paragraphs(count: int, sentences: int = 4) -> list[str]:
    lines = [line for line in (FOLDER / "sentences.txt").read_text().splitlines() if line.strip()]
    return [" ".join(lines[(i * sentences + k) % len(lines)] for k in range(sentences)) for i in range(count)]


def save_truncated_draft(target_dir: str, out_dir: Path, layers: int) -> Path:
    """A draft made of the target's first ``layers`` decoder layers (plus its embeddings, final
    norm and head), saved with the target's tokenizer: a real, much cheaper causal LM with the
    same vocabulary. Untrained as a draft, so its guesses are mostly wrong; it measures what
    drafting costs and how the engine backs off, not a good pairing."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(target_dir, dtype=torch.float32)
    model.model.layers = model.model.layers[:layers]
    model.config.num_hidden_layers = layers
    if getattr(model.config, "layer_types", None):
        model.config.layer_types = model.config.layer_types[:layers]
    model.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(target_dir).save_pretrained(out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.spec_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--requests", type=int, nargs="+", default=[4, 32], help="requests per round, one number per level")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--draft", help="draft model folder (same tokenizer as the target): adds the draft-model mode")
    parser.add_argument("--draft-layers", type=int, help="build the draft from the target's first N layers instead")
    parser.add_argument("--no-prompt-lookup", action="store_true", help="leave the prompt-lookup mode out")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    config = load_config()
    model, tokenizer, device = load_model(config.model)
    source = config.model.source()
    with tempfile.TemporaryDirectory() as scratch:
        draft_path = args.draft
        if args.draft_layers:
            draft_path = str(save_truncated_draft(source.path, Path(scratch) / "draft", args.draft_layers))
        draft_model = load_draft_model(replace(config.model, draft_model=draft_path), tokenizer, device) if draft_path else None
        modes = ["off", *([] if args.no_prompt_lookup else ["prompt-lookup"]), *(["draft-model"] if draft_model is not None else [])]
        engines = {
            mode: engine_for(
                replace(config.worker, engine="batching", speculative=mode),
                model,
                tokenizer,
                device=device,
                draft_model=draft_model,
                model_name=source.name,
                context_length=config.model.context_length_of(model.config),
            )
            for mode in modes
        }
        results = measure(engines, tokenizer, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "max_tokens": args.max_tokens,
                    "rounds": args.rounds,
                    "draft": args.draft or (f"first {args.draft_layers} layers" if args.draft_layers else None),
                    "results": results,
                },
                indent=1,
            )
        )
    return 0


def measure(engines: dict, tokenizer, args) -> list[dict]:
    texts = paragraphs(max(args.requests))
    sampling = SamplingParams(max_tokens=args.max_tokens, temperature=0.0)
    prompts = [chat_ids(tokenizer, INSTRUCTION + text) for text in texts]
    for engine in engines.values():  # warm-up, and fill each engine's prefix cache alike
        drive(engine, [GenerationRequest("w", prompts[0], replace(sampling, max_tokens=8))], 1)
    results = []
    for level, count in zip(args.levels, args.requests, strict=True):
        totals = {mode: [0.0, 0] for mode in engines}
        before = {mode: engine.stats() for mode, engine in engines.items()}
        for round_ in range(args.rounds):
            for mode, engine in engines.items():
                requests = [GenerationRequest(f"{mode}-{round_}-{i}", prompts[i], sampling) for i in range(count)]
                run = drive(engine, requests, level)
                totals[mode][0] += run.wall_s
                totals[mode][1] += run.tokens
        row: dict = {"concurrency": level, "requests_per_round": count}
        for mode, engine in engines.items():
            tok_s = totals[mode][1] / totals[mode][0]
            row[f"{mode}_tok_s"] = round(tok_s, 2)
            if mode == "off":
                continue
            row[f"{mode}_speedup"] = round(tok_s / row["off_tok_s"], 3)
            now, then = engine.stats(), before[mode]
            drafts, proposed = now.spec_num_drafts - then.spec_num_drafts, now.spec_num_draft_tokens - then.spec_num_draft_tokens
            accepted = now.spec_num_accepted_tokens - then.spec_num_accepted_tokens
            row[f"{mode}_acceptance_rate"] = round(accepted / max(1, proposed), 3)
            row[f"{mode}_mean_accepted_per_pass"] = round(accepted / max(1, drafts), 2)
            row[f"{mode}_passes"] = drafts
            row[f"{mode}_backoffs"] = now.spec_num_backoffs - then.spec_num_backoffs
        results.append(row)
        print(json.dumps(row), flush=True)
    for engine in engines.values():
        engine.close()
    return results


if __name__ == "__main__":
    raise SystemExit(main())
