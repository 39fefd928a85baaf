"""Weight formats applied right after a model loads (``LLMJOBS_QUANTIZATION``).

- ``none``: the weights as loaded (``LLMJOBS_DTYPE``).
- ``fp16-weights`` (CPU): every ``nn.Linear`` keeps its weights in float16 and computes in
  float32 through PyTorch's fbgemm kernels (``quantize_dynamic`` with ``dtype=float16``). The
  matrix products read half the bytes: a 32-sequence decode step here takes ~78 ms instead of
  ~150 ms. Activations stay float32 and are never scaled across rows, so a request's output does
  not depend on what else is in its batch (the int8 variant of the same API scales activations
  per tensor, i.e. across the whole batch: measured here, 31 of 32 greedy answers changed with
  their batch companions, so it is not offered). The default model's weights come from a Q4_1
  GGUF whose values are small multiples of float16 scales, so float16 loses almost nothing.
- ``auto``: ``fp16-weights`` on CPU with float32 weights, ``none`` elsewhere (CUDA runs bfloat16).

An explicit mode the device cannot run is an error at start, never a silent fallback.
"""

from __future__ import annotations

import warnings

from app.errors import ModelLoadError
from typing import Any

MODES = ("auto", "none", "fp16-weights")


class QuantizationError(ModelLoadError):
    pass


def resolve_mode(mode: str, device: str, dtype: Any) -> str:
    import torch

    if mode == "auto":
        return "fp16-weights" if device == "cpu" and dtype == torch.float32 else "none"
    if mode == "fp16-weights" and device != "cpu":
        raise QuantizationError(f"LLMJOBS_QUANTIZATION=fp16-weights runs on the CPU only (fbgemm kernels); this worker uses {device}")
    return mode


def quantize(model: Any, mode: str) -> Any:
    """Apply a resolved ``mode`` in place; returns the model."""
    import torch

    if mode == "fp16-weights":
        with warnings.catch_warnings():
            # torch.ao.quantization is marked for migration to torchao, whose CPU int8/fp16
            # paths measured slower here (169 ms a step against 78 ms): keep the fbgemm one.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.float16, inplace=True)
    return model
