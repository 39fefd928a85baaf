"""Model-aware routing, the pure part: which queue a model's jobs go to, what a worker announces about
the model it serves, and whether a request for a model may be accepted. No Redis here
(app/jobs/model_catalog.py reads and writes what these describe).

Every worker serves the one model of its ``LLMJOBS_MODEL`` and consumes that model's own queue, so
workers of two models on one Redis never take each other's jobs, and any number of workers of one
model, on any number of hosts, share its queue.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from app.config import DEFAULT_MODEL
from app.errors import ModelNotFoundError, ModelUnavailableError

# A known model with no live worker: how long a client should wait before trying again. About the time
# a restarted worker takes to load a small model and beat; an autoscaler starting one from zero takes longer.
UNAVAILABLE_RETRY_S = 5
# A model no worker has announced for this long is forgotten: a request for it is a 404 again. Long, so a
# model scaled to zero overnight (or over a weekend) still answers 503 + Retry-After, which clients retry.
FORGET_AFTER_S = 7 * 86400
_UNSAFE = re.compile(r"[^A-Za-z0-9._/-]")


def queue_for(base: str, model: str) -> str:
    """The Celery queue of ``model``'s jobs: ``LLMJOBS_QUEUE`` itself for the bundled default model (so a
    deployment of it keeps its queue, messages in flight included), ``<LLMJOBS_QUEUE>.<model>`` for any
    other. A model id with characters a queue name should not hold (``:`` would read as kombu's priority
    separator) has them replaced, plus a short hash of the id so that two ids never share a queue."""
    if model == DEFAULT_MODEL:
        return base
    safe = _UNSAFE.sub("-", model)
    if safe != model:
        safe += "-" + hashlib.sha256(model.encode()).hexdigest()[:8]
    return f"{base}.{safe}"


class ModelKeys:
    """The Redis keys of the model catalog and of each model's live workers and jobs. The Lua that ends
    a job (app/jobs/scripts.py: finalize) builds :meth:`jobs` from the job's ``model`` field: keep them in step."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def catalog(self) -> str:
        """Hash of model id -> its :class:`ModelEntry` as the last heartbeat of a worker serving it announced it."""
        return f"{self.prefix}:models"

    def jobs(self, model: str) -> str:
        """Sorted set of the model's queued and running job ids, by submit time (what autoscaling counts)."""
        return f"{self.prefix}:model:{model}:jobs"

    def workers(self, model: str) -> str:
        """Sorted set of the live worker ids serving the model, by when their heartbeat expires."""
        return f"{self.prefix}:model:{model}:workers"


@dataclass(frozen=True)
class ModelEntry:
    """What a worker announces about its model with every heartbeat, and the API remembers (the model
    catalog): enough to route to it, count its prompts with its own tokenizer and key its cache entries."""

    model: str  # the id clients send as `model`; its queue is queue_for(LLMJOBS_QUEUE, model)
    path: str  # the local folder or hub id the API loads the tokenizer from (the same path on every host)
    local: bool
    fingerprint: str  # name + weights revision + numerics: part of every result-cache key (app/model_files.py)
    max_model_len: int
    max_request_tokens: int  # prompt + max_tokens one request may need: the context, or the KV budget if smaller
    seen_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ModelEntry:
        data = json.loads(text)
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


@dataclass(frozen=True)
class ModelServing:
    """A model as the live heartbeats show it: how many workers serve it with how many slots."""

    model: str
    workers: int = 0
    slots: int = 0  # task slots of all its live workers together (jobs they run at once)
    num_running: int = 0  # sequences running, as the workers last reported
    kv_cache_usage: float = 0.0  # the mean over its live workers, 0..1
    max_model_len: int = 0


def serving_by_model(infos: list[dict[str, Any]]) -> dict[str, ModelServing]:
    """Live workers' heartbeats grouped by the model they serve."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for info in infos:
        if info.get("model"):
            grouped.setdefault(info["model"], []).append(info)
    return {
        model: ModelServing(
            model=model,
            workers=len(group),
            slots=sum(int(info.get("slots", 0)) for info in group),
            num_running=sum(int(info.get("num_running", 0)) for info in group),
            kv_cache_usage=sum(float(info.get("kv_cache_usage", 0.0)) for info in group) / len(group),
            max_model_len=max(int(info.get("max_model_len", 0)) for info in group),
        )
        for model, group in grouped.items()
    }


def check_routable(model: str, entry: ModelEntry | None, live_workers: int, *, may_queue: bool, now: float) -> ModelEntry:
    """``entry`` if a request for ``model`` (not the default) may be accepted, else raise.

    Unknown (no worker ever announced it, or none for :data:`FORGET_AFTER_S`): :class:`ModelNotFoundError`.
    Known but no live worker: :class:`ModelUnavailableError`, unless ``may_queue`` (the request has a
    ``deadline_s``: it waits in the model's queue for a worker, and expires if none comes in time).
    """
    if entry is None or now - entry.seen_at > FORGET_AFTER_S:
        raise ModelNotFoundError(model)
    if live_workers == 0 and not may_queue:
        raise ModelUnavailableError(model, UNAVAILABLE_RETRY_S)
    return entry
