"""Which submit service takes a request: the default model's, or that of the model the request names.

A model other than the default gets its own :class:`SubmitService`, built on first use from what its
workers announced (app/jobs/routing.py: ModelEntry): its tokenizer, context, cache fingerprint and
queue. A few are kept, least recently used first out, so an API process holds a bounded number of
tokenizers however many models a deployment has seen.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from app.jobs.lora_registry import LoraEntry, LoraRegistry
from app.jobs.model_catalog import ModelCatalog
from app.jobs.routing import ModelEntry, check_routable
from app.jobs.submit import SubmitService

MAX_MODELS = 4  # services (tokenizers) kept besides the default's; each tokenizer is a few to tens of MB


class ModelRouter:
    def __init__(
        self,
        *,
        default: SubmitService,
        catalog: ModelCatalog,
        build: Callable[[ModelEntry], SubmitService],
        loras: LoraRegistry | None = None,
        capacity: int = MAX_MODELS,
    ) -> None:
        self.default = default
        self.loras = loras
        self.catalog = catalog
        self.build = build  # loads the model's tokenizer: slow, once per model and process
        self.capacity = capacity
        self._services: OrderedDict[ModelEntry, SubmitService] = OrderedDict()
        self._lock = threading.Lock()

    def service_for(self, model: str | None, *, may_queue: bool = False, tenant: str = "") -> SubmitService:
        """The service for a submit of ``tenant`` naming ``model`` (None: the default, or the tenant's pinned
        adapter). Raises ModelNotFoundError for an unknown model, or an adapter the tenant may not use,
        ModelUnavailableError for a known one no live worker serves unless ``may_queue``.

        The default model's jobs always queue, as they did before models were routed: a single-model
        deployment keeps accepting work while its worker restarts."""
        # The base model, named or not, by a tenant not pinned to adapters: no adapter to look up (no Redis round trip).
        base = model in (None, self.default.model_name) and (self.loras is None or tenant not in self.loras.pins)
        lora = None if base or self.loras is None else self.loras.resolve(model, tenant)
        if lora is not None:
            return with_adapter(self._base_service(lora.parent, may_queue), lora)
        return self._base_service(model, may_queue)

    def reply_service(self, model: str | None) -> SubmitService:
        """The service that shapes the reply of accepted jobs naming ``model`` (their tenant was checked when they were)."""
        lora = self.loras.get(model) if self.loras is not None and model else None
        if lora is not None:
            return with_adapter(self._base_service(lora.parent, True), lora)
        return self._base_service(model, True)

    def base_name(self, model: str | None) -> str:
        """The base model whose workers run ``model`` (an adapter's parent, or the model itself)."""
        entry = self.loras.get(model) if self.loras is not None and model else None
        return entry.parent if entry is not None else (model or self.default.model_name)

    def _base_service(self, model: str | None, may_queue: bool) -> SubmitService:
        if model is None or model == self.default.model_name:
            return self.default
        entry, live = self.catalog.lookup(model)
        return self._service(check_routable(model, entry, live, may_queue=may_queue, now=time.time()))

    def tokenizing(self, model: str | None) -> SubmitService:
        """The service whose tokenizer counts ``model``'s tokens (``/tokenize``): any known model, served now or not."""
        model = self.base_name(model) if model is not None else None  # an adapter shares its parent's tokenizer
        if model is None or model == self.default.model_name:
            return self.default
        entry, _ = self.catalog.lookup(model)
        return self._service(check_routable(model, entry, 0, may_queue=True, now=time.time()))

    def _service(self, entry: ModelEntry) -> SubmitService:
        key = replace(entry, seen_at=0.0)  # a new weights revision or context is a new service; a new beat is not
        with self._lock:  # one load per model, however many requests arrive for it at once
            service = self._services.pop(key, None) or self.build(entry)
            self._services[key] = service
            while len(self._services) > self.capacity:
                self._services.popitem(last=False)
        return service


def with_adapter(base: SubmitService, lora: LoraEntry) -> SubmitService:
    """``base``'s service for its jobs run with ``lora``: their answers are cached apart (the fingerprint takes
    the adapter's digest), and they keep ``base``'s queue and workers."""
    service = copy.copy(base)
    service.lora = {"name": lora.name, "path": lora.path, "digest": lora.digest}
    service.model_id = f"{base.model_id}+lora:{lora.digest[:16]}"
    return service
