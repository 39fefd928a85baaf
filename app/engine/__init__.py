"""Engines turn prompt token ids into tokens. Tasks see only :class:`Engine`."""

from __future__ import annotations

import logging
from typing import Any

from app.config import ModelConfig, WorkerConfig
from app.engine.base import Engine, StopCheck
from app.engine.types import Completion, GenerationRequest, SamplingParams, TokenDelta

log = logging.getLogger(__name__)

__all__ = ["Completion", "Engine", "GenerationRequest", "SamplingParams", "StopCheck", "TokenDelta", "engine_for", "make_engine"]


def make_engine(model_config: ModelConfig, worker_config: WorkerConfig) -> Engine:
    """Load the model and build the engine named by ``LLMJOBS_ENGINE``."""
    from app.models import context_length, load_draft_model, load_model, resolve

    model, tokenizer, device = load_model(model_config)
    draft = load_draft_model(model_config, tokenizer, device)
    return engine_for(worker_config, model, tokenizer, device=device, model_name=resolve(model_config).name, context_length=context_length(model_config), draft=draft)


def engine_for(worker_config: WorkerConfig, model: Any, tokenizer: Any, *, device: str, model_name: str, context_length: int, draft: Any = None) -> Engine:
    """The engine named by ``worker_config.engine`` over an already loaded model (and draft)."""
    common = {"device": device, "model_name": model_name, "context_length": context_length, "time_limit_s": worker_config.task_time_limit_s, "draft": draft}
    if worker_config.engine == "naive":
        from app.engine.naive import NaiveEngine

        return NaiveEngine(model, tokenizer, **common)
    from app.engine.llm_engine import BatchingEngine
    from app.memory import kv_tokens_that_fit

    max_kv_tokens = kv_tokens_that_fit(model, device, worker_config.kv_cache_tokens)
    if max_kv_tokens < worker_config.kv_cache_tokens:
        log.warning("KV budget lowered to %d tokens (LLMJOBS_KV_CACHE_TOKENS=%d does not fit in the free memory)", max_kv_tokens, worker_config.kv_cache_tokens)
    return BatchingEngine(
        model,
        tokenizer,
        max_num_seqs=worker_config.max_num_seqs,
        max_num_batched_tokens=worker_config.max_num_batched_tokens,
        max_kv_tokens=max_kv_tokens,
        prefix_cache_tokens=worker_config.prefix_cache_tokens,
        speculative=worker_config.speculative,
        speculative_tokens=worker_config.speculative_tokens,
        **common,
    )
