"""What a worker announces with every heartbeat about the model it serves: the catalog entry the API routes
and tokenizes by (app/jobs/routing.py), and the load an autoscaler and ``GET /v1/models`` read."""

from __future__ import annotations

from typing import Any

from app.config import Config
from app.engine import Engine
from app.jobs.routing import ModelEntry, queue_for
from app.model_files import fingerprint


def model_entry(config: Config, engine: Engine) -> ModelEntry:
    """The model as the API needs it: where its tokenizer is (the same path must hold it on the API's host:
    a shared volume, or a hub id), the fingerprint its cache keys carry, and how long a request may be."""
    source = config.model.source()
    context = engine.context_length
    return ModelEntry(
        model=engine.model_name,
        path=source.path,
        local=source.local,
        fingerprint=fingerprint(config.model),
        max_model_len=context,
        max_request_tokens=min(context, config.worker.max_request_tokens or context),
    )


def serving_info(config: Config, entry: ModelEntry) -> dict[str, Any]:
    """The heartbeat's fixed part about the model: its queue, and this worker's task slots (jobs at once)."""
    return {
        "queues": [queue_for(config.worker.queue, entry.model)],
        "model": entry.model,
        "slots": config.worker.task_threads,
        "max_model_len": entry.max_model_len,
    }


def load_info(engine: Engine) -> dict[str, Any]:
    """The heartbeat's changing part: sequences running and the KV budget they reserve (0..1)."""
    stats = engine.stats()
    return {"num_running": stats.num_running, "kv_cache_usage": round(stats.kv_cache_usage, 4)}
