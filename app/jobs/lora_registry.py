"""The LoRA adapters a deployment serves, in one Redis hash every API process reads: declared at start
(``LLMJOBS_LORA_MODULES``) or loaded at run time (``POST /v1/load_lora_adapter``).

An entry names the adapter's folder, the digest of its files and its parent model. A job carries
its adapter's entry with it (app/jobs/request.py: LoraChoice), so unloading an adapter refuses new
requests for it but never strands a job already accepted; workers read the folder on first use.

Which tenant may use which adapter is one rule: a tenant pinned to adapters (``loras=a+b`` in the
keys file) may use only those, the first when a request names no model; an adapter named in any
tenant's pins is reserved to the tenants pinned to it; every other adapter is open to all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import redis

from app.errors import InvalidRequestError, ModelNotFoundError
from app.lora_files import AdapterInfo


@dataclass(frozen=True)
class LoraEntry:
    name: str
    path: str
    digest: str
    rank: int
    parent: str  # the base model's name: its queue and workers serve the adapter
    created: int

    def to_json(self) -> str:
        return json.dumps(asdict(self))


class LoraRegistry:
    def __init__(self, client: redis.Redis, prefix: str, pins: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.redis = client
        self.key = f"{prefix}:loras"
        self.pins = dict(pins or {})  # tenant -> its adapters
        self.reserved = {name for names in self.pins.values() for name in names}

    def add(self, name: str, info: AdapterInfo, parent: str, *, replace: bool = False) -> bool:
        """Register ``name``; False if it exists already (and ``replace`` is off)."""
        entry = LoraEntry(name, info.path, info.digest, info.rank, parent, int(time.time()))
        if replace:
            self.redis.hset(self.key, name, entry.to_json())
            return True
        return bool(self.redis.hsetnx(self.key, name, entry.to_json()))

    def remove(self, name: str) -> bool:
        return bool(self.redis.hdel(self.key, name))

    def get(self, name: str) -> LoraEntry | None:
        raw = self.redis.hget(self.key, name)
        return LoraEntry(**json.loads(raw)) if raw else None

    def all(self) -> list[LoraEntry]:
        return sorted((LoraEntry(**json.loads(raw)) for raw in self.redis.hvals(self.key)), key=lambda entry: entry.name)

    def allows(self, tenant: str, name: str) -> bool:
        pinned = self.pins.get(tenant)
        return name in pinned if pinned is not None else name not in self.reserved

    def visible(self, tenant: str) -> list[LoraEntry]:
        """The adapters ``tenant`` may use (``GET /v1/models``)."""
        return [entry for entry in self.all() if self.allows(tenant, entry.name)]

    def resolve(self, model: str | None, tenant: str) -> LoraEntry | None:
        """The adapter a request of ``tenant`` naming ``model`` runs with; None for a base model. Raises
        ModelNotFoundError for an adapter the tenant may not use (as for one that does not exist: nothing tells them apart)."""
        pinned = self.pins.get(tenant)
        if model is None and pinned is None:
            return None
        name = model if model is not None else pinned[0]
        entry = self.get(name) if (pinned is None or name in pinned) else None
        if entry is not None and not self.allows(tenant, name):
            entry = None
        if entry is None and (pinned is not None or name in self.reserved):
            raise ModelNotFoundError(name)
        return entry


def check_new_name(name: str, base_models: set[str]) -> None:
    if name in base_models:
        raise InvalidRequestError("lora_name", f"lora_name: {name!r} is the name of a base model")
