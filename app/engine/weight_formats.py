"""Weight formats applied right after a model loads (``LLMJOBS_QUANTIZATION``).

- ``none``: the weights as loaded (``LLMJOBS_DTYPE``).
- ``fp16-weights`` (CPU): every ``nn.Linear`` keeps its weights in float16 and computes in
  float32 through PyTorch's fbgemm kernels (``quantize_dynamic`` with ``dtype=float16``). The
  matrix products read half the bytes: a 32-sequence decode step here takes ~78 ms instead of
  ~150 ms. Activations stay float32 and are never scaled across rows, so a request's output does
  not depend on what else is in its batch. The default model's weights come from a Q4_1 GGUF
  whose values are small multiples of float16 scales, so float16 loses almost nothing.
- ``int8-dynamic`` (CPU, opt-in): the same API with int8 weights (per output channel) and
  activations quantized to int8 on the fly, except in the layers whose inputs carry outlier
  activations (the MLP's output projection and the LM head), which keep fp16 weights: quantizing
  those too measured +155 % perplexity here instead of +17.5 %. PyTorch scales the activations
  per tensor, i.e. across every row of the batch, so a request's greedy answer can change with
  what else is in its batch. Less memory, a little faster in large batches, lower quality
  (docs/BENCHMARKS_LOG.md): for throughput-bound work that tolerates that, never the default.
- ``8bit`` / ``4bit``: bitsandbytes, applied while loading (``BitsAndBytesConfig``): LLM.int8()
  or NF4 with double quantization, computing in ``LLMJOBS_DTYPE``'s dtype (bfloat16 on CUDA,
  float32 on CPU). They save memory, not time (bitsandbytes dequantizes on the fly); on CPU
  both work but 8bit is very slow.
- A checkpoint that is already quantized (GPTQ, AWQ, ... : its config.json carries a
  ``quantization_config``) is loaded by transformers' own support; ``auto`` and ``none`` leave it
  as it is, and asking for another mode on top of it is an error.
- ``auto``: ``fp16-weights`` on CPU with float32 weights, ``none`` elsewhere (CUDA runs bfloat16).

An explicit mode the device cannot run is an error at start, never a silent fallback.
"""

from __future__ import annotations

import warnings
from typing import Any

from app.errors import ModelLoadError


class QuantizationError(ModelLoadError):
    pass


def resolve_mode(mode: str, device: str, dtype: Any, checkpoint_method: str | None = None) -> str:
    """The mode to apply; ``checkpoint_method`` is the quantization the checkpoint already carries."""
    import importlib.util

    import torch

    if checkpoint_method:
        if mode not in ("auto", "none"):
            raise QuantizationError(
                f"the checkpoint is already quantized ({checkpoint_method}); LLMJOBS_QUANTIZATION={mode} cannot be applied on top"
            )
        return f"checkpoint:{checkpoint_method}"
    if mode in ("8bit", "4bit") and importlib.util.find_spec("bitsandbytes") is None:
        raise QuantizationError(f"LLMJOBS_QUANTIZATION={mode} needs the bitsandbytes package")
    if mode == "auto":
        return "fp16-weights" if device == "cpu" and dtype == torch.float32 else "none"
    if mode in ("fp16-weights", "int8-dynamic") and device != "cpu":
        raise QuantizationError(f"LLMJOBS_QUANTIZATION={mode} runs on the CPU only (fbgemm kernels); this worker uses {device}")
    return mode


def load_kwargs(mode: str, dtype: Any) -> dict[str, Any]:
    """Extra ``from_pretrained`` arguments for modes applied while loading."""
    if mode not in ("8bit", "4bit"):
        return {}
    from transformers import BitsAndBytesConfig

    if mode == "8bit":
        return {"quantization_config": BitsAndBytesConfig(load_in_8bit=True)}
    return {
        "quantization_config": BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype
        )
    }


def quantize(model: Any, mode: str) -> Any:
    """Apply a resolved ``mode`` in place; returns the model."""
    import torch

    if mode in ("fp16-weights", "int8-dynamic"):
        with warnings.catch_warnings():
            # torch.ao.quantization is marked for migration to torchao, whose CPU int8/fp16
            # paths measured slower here (169 ms a step against 78 ms): keep the fbgemm one.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            torch.ao.quantization.quantize_dynamic(model, _qconfigs(model, mode), inplace=True)
    return model


# The MLP output projection (Llama/Mistral/Qwen `down_proj`, OPT/Phi `fc2`, GPT-NeoX
# `dense_4h_to_h`, Mixtral `w2`) and the LM head see the outlier activations that per-tensor
# int8 cannot represent (LLM.int8()'s finding): under int8-dynamic they keep fp16 weights.
OUTLIER_LAYERS = ("down_proj", "fc2", "dense_4h_to_h", "w2", "lm_head")


def _qconfigs(model: Any, mode: str) -> dict[str, Any]:
    """quantize_dynamic's per-module settings for ``mode`` (every nn.Linear, by name)."""
    import torch

    qa = torch.ao.quantization
    config = {}
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if mode == "fp16-weights" or name.rsplit(".", 1)[-1] in OUTLIER_LAYERS:
            config[name] = qa.float16_dynamic_qconfig
        else:  # per-channel weight scales: per-tensor ones measured worse for the same bytes
            config[name] = qa.per_channel_dynamic_qconfig
    return config
