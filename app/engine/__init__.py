"""Engines turn prompt token ids into tokens. Tasks see only :class:`Engine`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from app.config import ModelConfig, WorkerConfig
from app.engine.base import Engine, StopCheck
from app.engine.passing_thread import in_passing_thread
from app.engine.types import Completion, GenerationRequest, LoraRef, SamplingParams, TokenDelta
from app.errors import InvalidRequestError, ModelLoadError

log = logging.getLogger(__name__)

__all__ = ["Completion", "Engine", "GenerationRequest", "LoraRef", "SamplingParams", "StopCheck", "TokenDelta", "engine_for",
           "in_passing_thread", "make_engine"]  # fmt: skip


def make_engine(model_config: ModelConfig, worker_config: WorkerConfig) -> Engine:
    """Load the model and build the engine named by ``LLMJOBS_ENGINE``."""
    return in_passing_thread(lambda: _make_engine(model_config, worker_config))


def _make_engine(model_config: ModelConfig, worker_config: WorkerConfig) -> Engine:
    from app.engine.loader import load_draft_model, load_model

    model, tokenizer, device = load_model(model_config)
    draft_model = load_draft_model(model_config, tokenizer, device)
    name, context_length = model_config.source().name, model_config.context_length_of(model.config)
    return _engine_for(
        worker_config, model, tokenizer, device=device, model_name=name, context_length=context_length, draft_model=draft_model
    )


def pick_runner(mode: str, model: Any, device: str) -> str:
    """The batching engine's forward pass for ``LLMJOBS_RUNNER=mode``: ``auto`` takes the lean
    runner where it can run this model, and an explicit runner that cannot is an error at start."""
    from app.engine import tensor_parallel
    from app.engine.lean_model import unsupported

    if mode == "llamacpp":
        reason = llamacpp_unsupported(model, device)
        if reason:
            raise ModelLoadError(f"LLMJOBS_RUNNER=llamacpp cannot run here: {reason}; use lean or transformers")
        return mode
    reason = "tensor parallelism shards the transformers model" if tensor_parallel.is_distributed() else unsupported(model, device)
    if mode == "auto":
        return "transformers" if reason else "lean"
    if mode == "lean" and reason:
        raise ModelLoadError(f"LLMJOBS_RUNNER=lean cannot run here: {reason}; use transformers")
    return mode


def llamacpp_unsupported(model: Any, device: str) -> str | None:
    """Why the llama.cpp runner cannot run ``model`` here, or None when it can."""
    from app.engine import tensor_parallel
    from app.engine.llamacpp_model import available

    if device != "cpu" or tensor_parallel.is_distributed():
        return f"it runs on one CPU process; this worker uses {device}"
    if getattr(model, "llmjobs_gguf", None) is None:
        return available() or "the model has no GGUF file (the default model, or a model folder holding a .gguf file)"
    return None


def engine_for(
    worker_config: WorkerConfig, model: Any, tokenizer: Any, *, device: str, model_name: str, context_length: int, draft_model: Any = None
) -> Engine:
    """The engine named by ``worker_config.engine`` over an already loaded model (and draft)."""
    return in_passing_thread(
        lambda: _engine_for(
            worker_config, model, tokenizer, device=device, model_name=model_name, context_length=context_length, draft_model=draft_model
        )
    )


def _engine_for(
    worker_config: WorkerConfig, model: Any, tokenizer: Any, *, device: str, model_name: str, context_length: int, draft_model: Any = None
) -> Engine:
    common = {
        "device": device,
        "model_name": model_name,
        "context_length": context_length,
        "time_limit_s": worker_config.task_time_limit_s,
        "draft_model": draft_model,
    }
    if worker_config.engine == "naive":
        from app.engine.naive_engine import NaiveEngine

        return NaiveEngine(model, tokenizer, **common)
    from app.engine.batching_engine import BatchingEngine
    from app.engine.kv_budget import kv_tokens_that_fit

    max_kv_tokens = kv_tokens_that_fit(model, device, worker_config.kv_cache_tokens)
    if max_kv_tokens < worker_config.kv_cache_tokens:
        log.warning(
            "KV budget lowered to %d tokens (LLMJOBS_KV_CACHE_TOKENS=%d does not fit in the free memory)",
            max_kv_tokens,
            worker_config.kv_cache_tokens,
        )
    engine = BatchingEngine(
        model,
        tokenizer,
        runner=pick_runner(worker_config.runner, model, device),
        max_loras=worker_config.max_loras,
        max_num_seqs=worker_config.max_num_seqs,
        max_num_batched_tokens=worker_config.max_num_batched_tokens,
        max_kv_tokens=max_kv_tokens,
        prefix_cache_tokens=worker_config.prefix_cache_tokens,
        speculative=worker_config.speculative,
        speculative_tokens=worker_config.speculative_tokens,
        **common,
    )
    preload_declared_loras(engine, worker_config.lora_modules)
    return engine


def preload_declared_loras(engine: Any, modules: Mapping[str, str]) -> None:
    """``LLMJOBS_LORA_MODULES`` into the bank at start (as many as it holds): a folder that cannot be served stops the start."""
    from app.lora_files import check_adapter

    if not modules:
        return
    if engine.loras is None:
        log.warning("LLMJOBS_LORA_MODULES is set but this engine serves no adapter (the lean runner with LLMJOBS_MAX_LORAS > 0 does)")
        return
    for name, path in list(modules.items())[: engine.loras.capacity]:
        try:
            info = check_adapter(path)
            engine.loras.preload(LoraRef(name, info.path, info.digest))
        except InvalidRequestError as exc:
            raise ModelLoadError(f"LLMJOBS_LORA_MODULES: adapter {name!r}: {exc}") from None
