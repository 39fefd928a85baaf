"""The LoRA adapters a worker holds in memory: at most ``LLMJOBS_MAX_LORAS``, least recently used
out first, never one a request in flight still uses.

Loading (reading the PEFT folder, checking it fits, stacking the matrices) runs for the requesting
task, in a thread that ends with it (a thread that has run PyTorch's OpenMP kernels and lives on makes
the engine thread's batched products ~4x slower, measured here), never on the engine's step loop: the
loop only ever reads :attr:`LoraBank.stack`, an immutable snapshot
that a load or an eviction replaces between two reads. A request that finds every slot taken by
adapters in use waits for one to be released, until its own time limit.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from app.engine.lora_stack import LoraStack
from app.engine.lora_weights import AdapterWeights, module_shapes, read_adapter
from app.engine.passing_thread import in_passing_thread
from app.engine.types import GenerationRequest, LoraRef
from app.errors import GenerationTimeoutError, InvalidRequestError


class LoraBank:
    def __init__(self, model: Any, capacity: int) -> None:
        assert capacity >= 1
        self.capacity = capacity
        self.shapes = module_shapes(model)
        self.num_layers = model.config.num_hidden_layers
        self.dtype = model.model.embed_tokens.weight.dtype
        self.stack = LoraStack()
        self.num_loads = 0
        self._loaded: OrderedDict[str, AdapterWeights] = OrderedDict()  # digest -> weights, least recently used first
        self._pins: Counter[str] = Counter()  # requests in flight per adapter
        self._loading: set[str] = set()
        self._changed = threading.Condition()

    def acquire(self, ref: LoraRef, deadline: float) -> None:
        """Make ``ref`` resident and pin it for one request (undone by :meth:`release`)."""
        with self._changed:
            while True:
                if ref.digest in self._loaded:
                    self._pins[ref.digest] += 1
                    self._loaded.move_to_end(ref.digest)
                    return
                if ref.digest not in self._loading and self._room():
                    self._loading.add(ref.digest)
                    break
                if not self._changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise GenerationTimeoutError(f"no LoRA slot freed for adapter {ref.name!r} before the time limit")
        try:
            weights = in_passing_thread(lambda: read_adapter(ref, self.shapes, self.num_layers, self.dtype))
        except BaseException:
            with self._changed:
                self._loading.discard(ref.digest)
                self._changed.notify_all()
            raise
        with self._changed:
            self._loading.discard(ref.digest)
            self._evict_to(self.capacity - 1)
            self._loaded[ref.digest] = weights
            self._pins[ref.digest] += 1
            self.num_loads += 1
            self._rebuild()
            self._changed.notify_all()

    @contextmanager
    def pinned(self, ref: LoraRef, deadline: float) -> Iterator[None]:
        self.acquire(ref, deadline)
        try:
            yield
        finally:
            self.release(ref.digest)

    def preload(self, ref: LoraRef) -> None:
        """Load ``ref`` at start (a declared adapter) without pinning it."""
        self.acquire(ref, deadline=time.monotonic() + 60)
        self.release(ref.digest)

    def release(self, digest: str) -> None:
        with self._changed:
            self._pins[digest] -= 1
            if self._pins[digest] <= 0:
                del self._pins[digest]
            self._changed.notify_all()

    @property
    def resident(self) -> list[str]:
        """Names of the adapters in memory, least recently used first."""
        return [weights.ref.name for weights in self._loaded.values()]

    def _room(self) -> bool:
        """Whether one more adapter fits, evicting unpinned ones if needed (called with the lock held)."""
        unpinned = sum(1 for digest in self._loaded if not self._pins[digest])
        return len(self._loaded) + len(self._loading) - unpinned < self.capacity

    def _evict_to(self, count: int) -> None:
        for digest in [d for d in self._loaded if not self._pins[d]]:
            if len(self._loaded) + len(self._loading) <= count:
                break
            del self._loaded[digest]

    def _rebuild(self) -> None:
        adapters = list(self._loaded.values())
        self.stack = in_passing_thread(lambda: _stacked(adapters, self.shapes, self.num_layers))


@torch.inference_mode()
def _stacked(adapters: list[AdapterWeights], shapes: dict[str, tuple[int, int]], num_layers: int) -> LoraStack:
    return LoraStack.of(adapters, shapes, num_layers)


def check_lora_request(bank: LoraBank | None, runner: str, request: GenerationRequest) -> None:
    """Refuse (400) a request for an adapter this engine cannot apply."""
    if request.lora is None:
        return
    if bank is None:
        why = "LLMJOBS_MAX_LORAS is 0" if runner == "lean" else f"this worker runs the {runner} runner"
        raise InvalidRequestError("model", f"LoRA adapters run on the lean runner with LLMJOBS_MAX_LORAS > 0; {why}")
    if request.sampling.prompt_logprobs is not None:  # computed by the plain transformers forward, which has no adapter
        raise InvalidRequestError("prompt_logprobs", "prompt log probabilities are not available with a LoRA adapter")
