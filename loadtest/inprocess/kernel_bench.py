"""What each CPU weight format costs per matrix product, on the default model's shapes.

    python -m loadtest.inprocess.kernel_bench --json out.json

For every linear layer shape of SmolLM2-135M (the lean runner's fused q/k/v and gate/up, the
MLP's down projection, the LM head) at batch 1 and 32: microseconds per call of float32
(``F.linear``), ``fp16-weights`` (fbgemm's float16-weight kernel, the CPU default), bfloat16
(oneDNN, AVX-512 BF16 where the CPU has it), and PyTorch's weight-only int8
(``torch._weight_int8pack_mm``, per-channel scales). Weights are random: only the time counts.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from loadtest.report import write_json

SHAPES = {"qkv": (576, 960), "gate_up": (576, 3072), "down": (1536, 576), "lm_head": (576, 49152)}


def timed_us(call: Callable[[], object], repeats: int) -> float:
    for _ in range(3):
        call()
    started = time.perf_counter()
    for _ in range(repeats):
        call()
    return round((time.perf_counter() - started) / repeats * 1e6, 1)


def formats(weight: torch.Tensor) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    packed = torch.ops.quantized.linear_prepack_fp16(weight, None)
    scales = weight.abs().amax(dim=1) / 127
    int8 = (weight / scales[:, None]).round().to(torch.int8)
    bf16 = weight.bfloat16()
    return {
        "float32": lambda x: F.linear(x, weight),
        "fp16-weights": lambda x: torch.ops.quantized.linear_dynamic_fp16(x, packed),
        "bfloat16": lambda x: F.linear(x.bfloat16(), bf16),
        "int8-weight-only": lambda x: torch._weight_int8pack_mm(x, int8, scales),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.kernel_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    rows = []
    for name, (inputs, outputs) in SHAPES.items():
        weight = torch.randn(outputs, inputs)
        for batch in (1, 32):
            x = torch.randn(batch, inputs)
            row = {"layer": name, "shape": [inputs, outputs], "batch": batch}
            for fmt, call in formats(weight).items():
                row[fmt] = timed_us(lambda call=call, x=x: call(x), max(3, args.repeats // (8 if fmt == "int8-weight-only" else 1)))
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        write_json({"unit": "microseconds per call", "threads": torch.get_num_threads(), "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
