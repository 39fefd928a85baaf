"""32 streams over 8 LoRA adapters against 32 streams on the base model, side by side in one process:
``python -m loadtest.inprocess.lora_bench --json out.json``.

The engine is the worker's (``LLMJOBS_*`` as set; by default the lean runner over ``fp16-weights``);
the adapters are made here with PEFT (random, rank ``--rank`` on all seven projections) and saved in its
format, then read back by the engine as a worker reads them. Every request is greedy with
``ignore_eos`` and ``--max-tokens`` tokens, so both sides do the same work; the two alternate round by
round on one engine (the adapters resident, as on a warm worker), and the figure is output tokens per
second, with the ratio of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

from app.config import load_config
from app.engine import engine_for, in_passing_thread
from app.engine.loader import load_model
from app.engine.types import GenerationRequest, LoraRef, SamplingParams
from app.lora_files import check_adapter
from loadtest.inprocess.driver import chat_ids, drive, short_chat_questions
from loadtest.report import write_json

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_adapters(config, folder: Path, count: int, rank: int) -> list[LoraRef]:
    """``count`` random PEFT adapters of the default model, saved under ``folder``."""
    import torch
    from peft import LoraConfig, get_peft_model

    base, _, _ = load_model(replace(config.model, quantization="none"))  # PEFT wraps nn.Linear only
    refs = []
    for i in range(count):
        torch.manual_seed(i)
        model = get_peft_model(base, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=TARGETS, init_lora_weights=False))
        model.save_pretrained(folder / f"adapter{i}")
        base = model.unload()  # the base back, without this adapter's layers
        path = str(folder / f"adapter{i}")
        refs.append(LoraRef(f"adapter{i}", path, check_adapter(path).digest))
    return refs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.lora_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=32)
    parser.add_argument("--adapters", type=int, default=8)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    config = load_config()
    worker_config = replace(config.worker, engine="batching", max_loras=max(args.adapters, config.worker.max_loras))
    # Loading and making the adapters in threads that end, as a worker loads (app/engine/__init__.py: in_passing_thread).
    model, tokenizer, device = in_passing_thread(lambda: load_model(config.model))
    name, context_length = config.model.source().name, config.model.context_length_of(model.config)
    engine = engine_for(worker_config, model, tokenizer, device=device, model_name=name, context_length=context_length)
    questions = short_chat_questions()
    prompts = [chat_ids(tokenizer, questions[i % len(questions)]) for i in range(args.streams)]
    sampling = SamplingParams(max_tokens=args.max_tokens, temperature=0.0, ignore_eos=True)
    rates: dict[str, list[float]] = {"base": [], "loras": []}
    with tempfile.TemporaryDirectory() as folder:
        refs = in_passing_thread(lambda: make_adapters(config, Path(folder), args.adapters, args.rank))
        for ref in refs:
            engine.loras.preload(ref)
        for round_ in range(args.rounds + 1):  # round 0 warms both paths up and is not counted
            for mode, spent in rates.items():
                requests = [GenerationRequest(f"{mode}{i}", prompt, sampling, lora=refs[i % len(refs)] if mode == "loras" else None)
                            for i, prompt in enumerate(prompts)]  # fmt: skip
                run = drive(engine, requests, args.streams)
                if round_:
                    spent.append(run.tokens_per_s)
    engine.close()
    result = {
        "streams": args.streams,
        "adapters": args.adapters,
        "rank": args.rank,
        "max_tokens": args.max_tokens,
        "runner": engine.runner_name,
        "quantization": getattr(model, "llmjobs_quantization", "none"),
        "out_tok_s": {mode: [round(r, 1) for r in values] for mode, values in rates.items()},
        "loras_vs_base": round(statistics.median(rates["loras"]) / statistics.median(rates["base"]), 3),
    }
    print(result)
    if args.json:
        write_json(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
