"""The batching engine's forward passes (``LLMJOBS_RUNNER``), built over a loaded model.

- ``lean``: the project's own Llama-family forward over preallocated KV slots (app/engine/lean_model.py).
- ``llamacpp``: llama.cpp's CPU kernels over the model's GGUF file (app/engine/llamacpp_model.py);
  one KV stream a sequence, so a request's context is capped at ``LLMJOBS_KV_CACHE_TOKENS /
  LLMJOBS_MAX_NUM_SEQS`` tokens (at least 256), and no prompt-prefix KV is reused across requests.
- ``transformers``: the model's own forward (any architecture, device and weight format).
"""

from __future__ import annotations

from typing import Any

import torch

from app.engine.prefix_cache import PrefixCache


def build_runner(
    name: str,
    model: Any,
    *,
    device: str,
    pad_token_id: int,
    prefix_cache: PrefixCache,
    max_num_seqs: int,
    context_length: int,
    max_kv_tokens: int,
    max_step_tokens: int,
    loras: Any = None,
) -> tuple[Any, int]:
    """The runner named ``name`` and the context length (prompt + output tokens) it allows a request."""
    if name == "lean":
        from app.engine.lean_model import LeanModel
        from app.engine.lean_runner import LeanRunner

        max_len = min(context_length, max_kv_tokens)
        return LeanRunner(LeanModel(model), num_slots=max_num_seqs, max_len=max_len, prefix_cache=prefix_cache, loras=loras), context_length
    if name == "llamacpp":
        from app.engine.llamacpp_runner import LlamaCppRunner

        max_len = min(context_length, max(max_kv_tokens // max_num_seqs, 256))
        runner = LlamaCppRunner(
            model.llmjobs_gguf, num_slots=max_num_seqs, max_len=max_len, max_step_tokens=max_step_tokens, threads=torch.get_num_threads()
        )
        return runner, max_len
    from app.engine.model_runner import ModelRunner

    return ModelRunner(model, pad_token_id=pad_token_id, device=device, prefix_cache=prefix_cache), context_length
