"""Loading a model's weights for inference: device, dtype, attention kernels and weight format.

Where the files come from is the configuration's business (``ModelConfig.source()``); turning
the bundled GGUF into safetensors happens once, before any worker starts (app/model_files.py).
torch and transformers are imported inside the functions.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from typing import Any

from app.config import ModelConfig
from app.engine.gguf_weights import gguf_for
from app.errors import ModelLoadError


def load_tokenizer(config: ModelConfig) -> Any:
    from transformers import AutoTokenizer

    source = config.source()
    return AutoTokenizer.from_pretrained(source.path, local_files_only=source.local)


def pick_device(config: ModelConfig) -> str:
    import torch

    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return config.device


def pick_dtype(config: ModelConfig, device: str) -> Any:
    import torch

    if config.dtype == "auto":
        # bf16 is slower than fp32 on CPUs without AMX (measured: ~2.4 vs ~15 tok/s here).
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, config.dtype)


def pick_attention(config: ModelConfig, device: str) -> str:
    """The attention implementation to load with; an explicit one that cannot run is an error."""
    has_flash = importlib.util.find_spec("flash_attn") is not None and device.startswith("cuda")
    if config.attention == "auto":
        # PyTorch's SDPA already picks flash kernels on recent GPUs; flash-attn's own is used when installed.
        return "flash_attention_2" if has_flash else "sdpa"
    if config.attention == "flash_attention_2" and not has_flash:
        raise ModelLoadError(
            f"LLMJOBS_ATTENTION=flash_attention_2 needs CUDA and the flash-attn package; this worker has {device}"
            + ("" if importlib.util.find_spec("flash_attn") else " and no flash-attn")
        )
    return config.attention


def load_model(config: ModelConfig) -> tuple[Any, Any, str]:
    """Load (model, tokenizer, device) for inference, in eval mode on the chosen device."""
    from transformers import AutoModelForCausalLM

    source = config.source()
    device = pick_device(config)
    tokenizer = load_tokenizer(config)
    from transformers import AutoConfig

    from app.engine.weight_formats import load_kwargs, quantize, resolve_mode

    dtype = pick_dtype(config, device)
    checkpoint = getattr(AutoConfig.from_pretrained(source.path, local_files_only=source.local), "quantization_config", None)
    method = (
        (checkpoint.get("quant_method") if isinstance(checkpoint, dict) else getattr(checkpoint, "quant_method", None))
        if checkpoint
        else None
    )
    quantization = "none" if config.tensor_parallel > 1 and config.quantization == "auto" else config.quantization
    if config.tensor_parallel > 1 and quantization != "none":
        raise ModelLoadError(f"LLMJOBS_QUANTIZATION={quantization} cannot be combined with tensor parallelism; use none")
    mode = resolve_mode(quantization, device, dtype, str(method) if method else None)  # before loading: a bad setting fails fast
    attention = pick_attention(config, device)
    extra = load_kwargs(mode, dtype)
    if extra:
        extra["device_map"] = device  # bitsandbytes places (and quantizes) weights while loading
    if config.tensor_parallel > 1:
        extra["tp_plan"] = "auto"  # shards over the torchrun process group (each rank places its own shard)
    model = AutoModelForCausalLM.from_pretrained(
        source.path, dtype=dtype, local_files_only=source.local, attn_implementation=attention, **extra
    )
    if not extra:
        model.to(device)
    model.eval()
    quantize(model, mode)
    model.llmjobs_quantization = mode  # shown in the worker's heartbeat and /readyz
    model.llmjobs_attention = attention
    model.llmjobs_gguf = gguf_for(config) if config.runner in ("auto", "llamacpp") and device == "cpu" else None
    return model, tokenizer, device


def load_draft_model(config: ModelConfig, tokenizer: Any, device: str) -> Any | None:
    """The speculative draft of ``LLMJOBS_DRAFT_MODEL`` on ``device``, or None when unset.

    It must have exactly the target's tokenizer (the engine compares token ids, not text), so
    a draft without tokenizer files, or with another vocabulary, fails at start."""
    if not config.draft_model:
        return None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from app.engine.weight_formats import quantize, resolve_mode

    source = replace(config, model=config.draft_model).source()
    try:
        draft_tokenizer = AutoTokenizer.from_pretrained(source.path, local_files_only=source.local)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"LLMJOBS_DRAFT_MODEL={config.draft_model}: no tokenizer to check against the target's ({exc})") from exc
    if draft_tokenizer.get_vocab() != tokenizer.get_vocab():
        raise ModelLoadError(
            f"LLMJOBS_DRAFT_MODEL={config.draft_model} does not share the target's tokenizer; a draft must propose the target's token ids"
        )
    dtype = pick_dtype(config, device)
    try:
        draft = AutoModelForCausalLM.from_pretrained(
            source.path, dtype=dtype, local_files_only=source.local, attn_implementation=pick_attention(config, device)
        )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"LLMJOBS_DRAFT_MODEL={config.draft_model} did not load: {exc}") from exc
    draft.to(device).eval()
    quantize(draft, resolve_mode("auto", device, dtype))  # the target's default speed-up applies to its draft too
    return draft
