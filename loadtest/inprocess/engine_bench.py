"""The engine alone, no HTTP: tokens per second and memory for fixed-length requests.

    python -m loadtest.inprocess.engine_bench --requests 4 --max-tokens 128
    python -m loadtest.inprocess.engine_bench --engine batching --concurrency 32 --requests 32 --max-tokens 128
    python -m loadtest.inprocess.engine_bench --random-weights CONFIG_DIR --device cuda --dtype bfloat16

``--random-weights`` builds the model from a folder holding only its config and
tokenizer (same shapes, random values): the speed and memory figures are the
real model's on a machine that cannot hold the weights, the text is noise. Requests run in a
closed loop (``--concurrency`` in flight, the next one sent as soon as one ends).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from app.config import load_config
from app.engine import engine_for
from app.engine.base import Engine
from app.engine.types import GenerationRequest, SamplingParams
from app.obs.process_memory import memory_stats
from loadtest.inprocess.driver import chat_ids, drive
from loadtest.report import write_json
from loadtest.stats import percentile

PROMPT = "Write a long story about a lighthouse keeper and the sea."


def build_engine(args: argparse.Namespace) -> Engine:
    import torch

    config = load_config()
    model_config = replace(config.model, device=args.device, dtype=args.dtype, runner=getattr(args, "runner", None) or config.model.runner)
    engine_kind = getattr(args, "engine", "naive")
    worker_config = replace(
        config.worker,
        engine=engine_kind,
        max_num_seqs=max(config.worker.max_num_seqs, getattr(args, "concurrency", 1)),
        runner=getattr(args, "runner", None) or config.worker.runner,
    )
    if args.random_weights is None:
        from app.engine import make_engine

        return make_engine(model_config, worker_config)
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from app.engine.loader import pick_device, pick_dtype

    device = pick_device(model_config)
    hf_config = AutoConfig.from_pretrained(args.random_weights, local_files_only=True)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(hf_config, dtype=pick_dtype(model_config, device)).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.random_weights, local_files_only=True)
    worker_config = replace(worker_config, task_time_limit_s=3600)
    return engine_for(
        worker_config,
        model,
        tokenizer,
        device=device,
        model_name=f"{hf_config.model_type} (random weights)",
        context_length=hf_config.max_position_embeddings,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.engine_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--engine", choices=("naive", "batching"), default="naive")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight at once (batching engine)")
    parser.add_argument(
        "--runner", choices=("auto", "lean", "llamacpp", "transformers"), help="the batching engine's forward (default: LLMJOBS_RUNNER)"
    )
    parser.add_argument("--random-weights", type=Path, help="folder with config.json and tokenizer files only")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    import torch

    started = time.perf_counter()
    engine = build_engine(args)
    load_s = time.perf_counter() - started
    prompt_ids = chat_ids(engine.tokenizer, PROMPT)
    sampling = SamplingParams(max_tokens=args.max_tokens, temperature=0.0, ignore_eos=True)
    drive(engine, [GenerationRequest("warmup", prompt_ids, replace(sampling, max_tokens=8))], 1)  # kernels, allocator
    run = drive(engine, [GenerationRequest(str(i), prompt_ids, sampling) for i in range(args.requests)], args.concurrency)
    runs = [{"ttft_s": t.ttft_s, "total_s": t.total_s, "tokens": t.tokens, "tokens_per_s": t.tokens / t.total_s} for t in run.timings]
    figures = {
        "engine": args.engine,
        "concurrency": args.concurrency,
        "requests": args.requests,
        "total_tokens_per_s": round(run.tokens_per_s, 2),
        "model": engine.model_name,
        "device": engine.device,
        "device_name": torch.cuda.get_device_name() if engine.device.startswith("cuda") else None,
        "dtype": str(next(engine.model.parameters()).dtype),  # type: ignore[attr-defined]
        "torch": torch.__version__,
        "load_s": round(load_s, 3),
        "prompt_tokens": len(prompt_ids),
        "max_tokens": args.max_tokens,
        "tokens_per_s_median": round(percentile((r["tokens_per_s"] for r in runs), 50), 2),  # per request
        "ttft_ms_median": round(percentile((r["ttft_s"] for r in runs if r["ttft_s"] is not None), 50) * 1000, 2),
        "memory": memory_stats(),
        "runs": runs,
    }
    print(json.dumps({k: v for k, v in figures.items() if k != "runs"}, indent=1))
    engine.close()
    if args.json:
        write_json(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
