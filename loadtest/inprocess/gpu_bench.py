"""The seed plan's GPU figures for a Mistral-7B-shaped model, in one script that runs offline in
under 8 minutes on one H100: ``python -m loadtest gpu --tokenizer DIR --out gpu.json``.

It builds Mistral-7B-v0.2's published shape (32 layers, hidden 4096, 32 heads / 8 KV heads,
MLP 14336, vocab 32000) with random bfloat16 weights on the GPU: speed and memory do not depend
on the weights' values, and no hub is needed. It runs the batching engine in-process (there is
no server to talk to) at 1, 32, 128 and 256 requests in
flight, each with a 128-token prompt of random ids and exactly 128 output tokens, for every
attention kernel that can run (SDPA; flash-attn's when it imports) and for float16, bfloat16 and
NF4 4-bit weights (bitsandbytes, when it imports). It prints and writes TTFT p50/p95, output
tokens/s, requests/s and peak VRAM per run; requests/s at the seed's load (512 requests of 64
prompt and 32 output tokens, 256 in flight); a decode step eager vs replayed as a CUDA graph
(loadtest/inprocess/gpu_graphs.py); and each format's best figures beside the targets. Targets (seed plan, Mistral-7B on one GPU):
TTFT p95 < 500 ms, > 100 req/s, VRAM < 16 GB.

``--tiny`` shrinks the model to 2 small layers so the script itself can be checked on a CPU.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

from app.engine.types import GenerationRequest, SamplingParams
from loadtest.inprocess.driver import drive
from loadtest.inprocess.gpu_graphs import graph_rows
from loadtest.report import write_json
from loadtest.stats import percentile

MISTRAL_7B = {  # mistralai/Mistral-7B-Instruct-v0.2's config.json
    "vocab_size": 32000,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "max_position_embeddings": 32768,
    "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-5,
    "sliding_window": None,
    "tie_word_embeddings": False,
}
TINY = {
    **MISTRAL_7B,
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
}


def build_model(shape: dict[str, Any], device: str, attention: str, weights: str) -> Any:
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    config = MistralConfig(**shape, attn_implementation=attention)
    torch.manual_seed(0)
    dtype = (torch.float16 if weights == "fp16" else torch.bfloat16) if device == "cuda" else torch.float32
    with torch.device(device):  # initialize on the GPU: 7B parameters on the CPU would take minutes
        model = MistralForCausalLM(config).to(dtype)
    if weights == "4bit":
        model = to_nf4(model, dtype)
    return model.eval()


def to_nf4(model: Any, compute_dtype: Any) -> Any:
    """Swap every decoder linear layer for bitsandbytes' NF4 (double quantization), as
    ``BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")`` would while loading."""
    import bitsandbytes as bnb
    import torch

    for module in list(model.model.layers.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear):
                quantized = bnb.nn.Linear4bit(
                    child.in_features,
                    child.out_features,
                    bias=child.bias is not None,
                    compute_dtype=compute_dtype,
                    quant_type="nf4",
                    compress_statistics=True,
                    device="meta",
                )
                quantized.weight = bnb.nn.Params4bit(
                    child.weight.data.to("cpu"), requires_grad=False, quant_type="nf4", compress_statistics=True
                )
                quantized = quantized.to(child.weight.device)
                setattr(module, name, quantized)
    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    return model


def run_level(engine: Any, concurrency: int, prompt_len: int, max_tokens: int, vocab: int) -> dict[str, Any]:
    """``concurrency`` requests of random prompts, all in flight at once."""
    import torch

    sampling = SamplingParams(max_tokens=max_tokens, temperature=0.0, ignore_eos=True)
    generator = torch.Generator().manual_seed(concurrency)
    requests = [
        GenerationRequest(f"r{i}", torch.randint(3, vocab, (prompt_len,), generator=generator).tolist(), sampling)
        for i in range(concurrency)
    ]
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    run = drive(engine, requests, concurrency)
    ttfts_ms = [t.ttft_s * 1000 for t in run.timings if t.ttft_s is not None]
    return {
        "concurrency": concurrency,
        "ttft_ms": {"p50": round(percentile(ttfts_ms, 50), 1), "p95": round(percentile(ttfts_ms, 95), 1)},
        "output_tokens_per_s": round(run.tokens_per_s, 1),
        "requests_per_s": round(concurrency / run.wall_s, 2),
        "peak_vram_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None,
        "wall_s": round(run.wall_s, 2),
    }


def seed_load_run(engine: Any, requests: int, prompt_len: int, max_tokens: int, vocab: int) -> dict[str, Any]:
    """The req/s figure: ``requests`` short requests with 256 in flight (the seed plan's > 100 req/s)."""
    import torch

    sampling = SamplingParams(max_tokens=max_tokens, temperature=0.0, ignore_eos=True)
    generator = torch.Generator().manual_seed(7)
    batch = [
        GenerationRequest(f"s{i}", torch.randint(3, vocab, (prompt_len,), generator=generator).tolist(), sampling) for i in range(requests)
    ]
    run = drive(engine, batch, min(256, requests))
    ttfts_ms = [t.ttft_s * 1000 for t in run.timings if t.ttft_s is not None]
    return {
        "requests": requests,
        "prompt_tokens": prompt_len,
        "output_tokens": max_tokens,
        "requests_per_s": round(requests / run.wall_s, 1),
        "ttft_p95_ms": round(percentile(ttfts_ms, 95), 1),
    }


def against_targets(report: dict[str, Any]) -> dict[str, Any]:
    """The seed plan's targets beside the best figure each weight format reached."""
    out: dict[str, Any] = {"targets": {"ttft_p95_ms": 500, "requests_per_s": 100, "peak_vram_gb_4bit": 16}}
    for weight in sorted({r["weights"] for r in report["runs"]}):
        runs = [r for r in report["runs"] if r["weights"] == weight]
        seeds = [r for r in report["seed_load"] if r["weights"] == weight]
        out[weight] = {
            "most_streams_with_ttft_p95_under_500ms": max((r["concurrency"] for r in runs if r["ttft_ms"]["p95"] < 500), default=0),
            "requests_per_s": max((r["requests_per_s"] for r in seeds), default=None),
            "peak_vram_gb": max((r["peak_vram_gb"] or 0 for r in runs), default=None),
            "output_tokens_per_s": {r["concurrency"]: r["output_tokens_per_s"] for r in runs if r["attention"] == "sdpa"},
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.gpu_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokenizer", type=Path, required=True, help="a tokenizer folder (any; the text is noise)")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 32, 128, 256])
    parser.add_argument(
        "--seed-load",
        type=int,
        nargs=3,
        default=[512, 64, 32],
        metavar=("REQUESTS", "PROMPT", "OUTPUT"),
        help="the req/s run: this many requests of PROMPT tokens and OUTPUT tokens, 256 in flight",
    )
    parser.add_argument("--graph-batches", type=int, nargs="+", default=[1, 32, 128], help="decode-step batches for the CUDA-graph check")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--tiny", action="store_true", help="2 small layers on the CPU: checks the script, measures nothing")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    import torch
    from transformers import AutoTokenizer

    from app.engine.batching_engine import BatchingEngine

    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    shape = TINY if args.tiny else MISTRAL_7B
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer, local_files_only=True)
    attentions = ["sdpa"] + (["flash_attention_2"] if device == "cuda" and importlib.util.find_spec("flash_attn") else [])
    weights = ["fp16", "bf16"] + (["4bit"] if importlib.util.find_spec("bitsandbytes") else [])
    report: dict[str, Any] = {
        "model": "Mistral-7B shape, random weights" if not args.tiny else "tiny Mistral shape (script check)",
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "runs": [],
        "seed_load": [],
        "cuda_graphs": [],
    }
    for weight in weights:
        for attention in attentions:
            started = time.perf_counter()
            model = build_model(shape, device, attention, weight)
            engine = BatchingEngine(
                model,
                tokenizer,
                device=device,
                model_name="mistral-7b-shape",
                context_length=shape["max_position_embeddings"],
                time_limit_s=3600,
                max_num_seqs=max(args.levels),
                max_num_batched_tokens=8192,
                max_kv_tokens=max(args.levels) * (args.prompt_tokens + args.max_tokens),
                prefix_cache_tokens=0,
            )
            build_s = time.perf_counter() - started
            run_level(engine, 2, 16, 4, shape["vocab_size"])  # warm-up: kernels, allocator
            for level in args.levels:
                row = {
                    "weights": weight,
                    "attention": attention,
                    "build_s": round(build_s, 1),
                    **run_level(engine, level, args.prompt_tokens, args.max_tokens, shape["vocab_size"]),
                }
                report["runs"].append(row)
                print(json.dumps(row), flush=True)
            requests, prompt, output = args.seed_load
            seed = {"weights": weight, "attention": attention, **seed_load_run(engine, requests, prompt, output, shape["vocab_size"])}
            report["seed_load"].append(seed)
            print(json.dumps(seed), flush=True)
            engine.close()
            if attention == "sdpa":  # the decode step eager vs CUDA graph, on the model just measured
                rows = [{"weights": weight, **row} for row in graph_rows(model, args.graph_batches, args.prompt_tokens)]
                report["cuda_graphs"] += rows
                print(json.dumps(rows), flush=True)
            del engine, model
            if device == "cuda":
                torch.cuda.empty_cache()
    report["against_targets"] = against_targets(report)
    print(json.dumps(report["against_targets"]), flush=True)
    if args.out:
        write_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
