"""What each CPU weight format costs per matrix product, on the default model's shapes.

    python -m loadtest.inprocess.kernel_bench --json out.json [--formats float32 fp16-weights ...]

For every linear layer shape of SmolLM2-135M (the lean runner's fused q/k/v and gate/up, the
MLP's down projection, the LM head), at batch 1 and 32: microseconds per call of each format in
:mod:`loadtest.inprocess.kernel_formats` (PyTorch's own kernels, torchao's configs, onnxruntime's
and OpenVINO's 4/8-bit MatMulNBits, IPEX where it matches this PyTorch), on two threads. Two more
columns per format: ``row_exact`` (a row's output in a batch of 32 equals, bit for bit, that row
alone: the engine's determinism rule) and ``rel_err`` (largest error against float32, relative to
float32's largest output). Weights are random normal: only time and those two checks count.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from loadtest.inprocess.kernel_formats import FORMATS, THREADS, Unavailable
from loadtest.report import write_json

SHAPES = {"qkv": (576, 960), "gate_up": (576, 3072), "down": (1536, 576), "lm_head": (576, 49152)}


def timed_us(call: Callable[[], object], budget_s: float) -> float:
    """Mean microseconds per call over about ``budget_s`` seconds, after a warm-up."""
    for _ in range(3):
        call()
    repeats, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < budget_s or repeats < 3:
        call()
        repeats += 1
    return round(elapsed / repeats * 1e6, 1)


def survey_shape(name: str, inputs: int, outputs: int, formats: list[str], budget_s: float) -> list[dict]:
    weight = torch.randn(outputs, inputs) * 0.02
    batch = torch.randn(32, inputs)
    reference = batch @ weight.t()
    rows = []
    for fmt in formats:
        row = {"layer": name, "shape": [inputs, outputs], "format": fmt}
        try:
            kernel = FORMATS[fmt](weight)
        except Unavailable as why:
            rows.append({**row, "unavailable": str(why)})
            print(json.dumps(rows[-1]), flush=True)
            continue
        together, alone = kernel(batch), kernel(batch[:1])
        row["row_exact"] = bool(torch.equal(together[:1], alone))
        row["rel_err"] = round(float((together - reference).abs().max() / reference.abs().max()), 5)
        for size in (1, 32):
            x = batch[:size].contiguous()
            row[f"us_b{size}"] = timed_us(lambda kernel=kernel, x=x: kernel(x), budget_s)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.kernel_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--formats", nargs="+", choices=sorted(FORMATS), default=list(FORMATS))
    parser.add_argument("--layers", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    parser.add_argument("--budget", type=float, default=0.5, help="seconds of calls per figure")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(THREADS)
    rows = [row for name in args.layers for row in survey_shape(name, *SHAPES[name], args.formats, args.budget)]
    if args.json:
        write_json({"unit": "microseconds per call", "threads": THREADS, "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
