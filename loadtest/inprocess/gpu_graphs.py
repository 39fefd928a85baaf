"""What CUDA graphs buy a decode step of a model: milliseconds per step, eager vs replayed graph.

A decode step at batch B over a transformers ``StaticCache`` has fixed shapes, so PyTorch can
capture it once (``torch.cuda.CUDAGraph``) and replay it with new inputs copied into the captured
buffers: one launch instead of hundreds of small kernels, the lever at small batches where a 7B
step is bound by launches, not by the GPU (gpt-fast's and vLLM's decode path). The capture is
PyTorch's own; the static cache is transformers'. On a CPU only the eager step runs (the capture
needs CUDA), so the script's CPU check still exercises the static-cache step.
"""

from __future__ import annotations

import time
from typing import Any


def decode_step_ms(model: Any, batch: int, context: int, *, graphs: bool, steps: int = 20) -> float:
    """Mean milliseconds of one decode step for ``batch`` rows that hold ``context`` tokens each."""
    import torch
    from transformers import StaticCache

    device = next(model.parameters()).device
    cache = StaticCache(config=model.config, max_cache_len=context + steps + 8)
    prompt = torch.randint(3, model.config.vocab_size, (batch, context), device=device)
    with torch.inference_mode():
        model(input_ids=prompt, past_key_values=cache, cache_position=torch.arange(context, device=device), use_cache=True)
        tokens = torch.zeros(batch, 1, dtype=torch.long, device=device)
        position = torch.tensor([context], device=device)

        def step() -> Any:
            return model(input_ids=tokens, past_key_values=cache, cache_position=position, use_cache=True).logits

        run = step
        if graphs and device.type == "cuda":
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):  # warm up on a side stream, as torch.cuda.graphs' documentation asks
                    step()
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                step()
            run = graph.replay
        run()
        synchronize(device)
        started = time.perf_counter()
        for _ in range(steps):  # the same position each time: the cost of a step, not a generation
            run()
        synchronize(device)
    return round((time.perf_counter() - started) / steps * 1000, 3)


def synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def graph_rows(model: Any, batches: list[int], context: int) -> list[dict[str, Any]]:
    """Eager and (on CUDA) graph-replayed decode steps per batch size, with the speed-up."""
    rows = []
    for batch in batches:
        row: dict[str, Any] = {"batch": batch, "context": context, "eager_ms": decode_step_ms(model, batch, context, graphs=False)}
        if next(model.parameters()).device.type == "cuda":
            row["graph_ms"] = decode_step_ms(model, batch, context, graphs=True)
            row["speedup"] = round(row["eager_ms"] / row["graph_ms"], 2)
        rows.append(row)
    return rows
