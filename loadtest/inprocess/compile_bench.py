"""Would ``torch.compile`` pay for the lean runner's step on this CPU? (``python -m loadtest.inprocess.compile_bench``)

The lean runner's step (app/engine/lean_model.py) is, per layer, four matrix products (fbgemm's fp16
kernels), one attention call, and the glue between them: RMSNorm twice, RoPE, two residual adds,
SiLU times up. The matrix products are already one kernel each; what ``torch.compile`` (inductor, C++
on a CPU) can fuse is the glue. This times one layer's glue in SmolLM2-135M's shapes at 1 and 32
tokens, eager against compiled (dynamic shapes, so one compilation serves every batch size), with
the compile time, and the whole step of the real model for scale (30 layers).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from loadtest.report import write_json

HIDDEN, HEADS, KV_HEADS, DIM, INTERMEDIATE, EPS = 576, 9, 3, 64, 1536, 1e-5


def glue(x, attn, down, qkv, gate_up, norm1, norm2, cos, sin):  # noqa: ANN001, ANN201  (traced by dynamo)
    """The lean runner's per-layer work outside the matrix products and attention, in its order."""
    n = x.shape[0]
    h = F.rms_norm(x, (HIDDEN,), norm1, EPS)
    qk = qkv[:, : (HEADS + KV_HEADS) * DIM].view(n, HEADS + KV_HEADS, DIM)
    qk = qk * cos + qk.roll(DIM // 2, dims=-1) * sin
    x = x + attn
    h2 = F.rms_norm(x, (HIDDEN,), norm2, EPS)
    gate, up = gate_up.chunk(2, dim=-1)
    act = F.silu(gate) * up
    return h, qk, h2, act, x + down


def inputs(n: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(n)
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    return (r(n, HIDDEN), r(n, HIDDEN), r(n, HIDDEN), r(n, (HEADS + 2 * KV_HEADS) * DIM), r(n, 2 * INTERMEDIATE), r(HIDDEN),
            r(HIDDEN), r(n, 1, DIM), r(n, 1, DIM))  # fmt: skip


def timed(fn, args, repeats: int) -> float:  # noqa: ANN001
    for _ in range(20):
        fn(*args)
    started = time.perf_counter()
    for _ in range(repeats):
        fn(*args)
    return (time.perf_counter() - started) / repeats * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.compile_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    compiled = torch.compile(glue, dynamic=True)
    started = time.perf_counter()
    compiled(*inputs(3))
    compile_s = time.perf_counter() - started
    rows = []
    for n in (1, 32):
        data = inputs(n)
        for a, b in zip(glue(*data), compiled(*data), strict=True):
            torch.testing.assert_close(a, b)  # the same numbers, else the comparison is moot
        eager_us, compiled_us = timed(glue, data, args.repeats), timed(compiled, data, args.repeats)
        rows.append({"tokens": n, "eager_us_per_layer": round(eager_us, 1), "compiled_us_per_layer": round(compiled_us, 1),
                     "saved_ms_per_step_30_layers": round((eager_us - compiled_us) * 30 / 1000, 2)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    report = {"compile_s": round(compile_s, 1), "torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}
    print(json.dumps({"compile_s": report["compile_s"]}))
    if args.out:
        write_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
