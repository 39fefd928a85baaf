"""The engine interface: submit one request, receive its token deltas, get a completion.

The call blocks its caller until the request ends; deltas arrive through the
``on_delta`` callback as they are produced (gpt-fast's streaming seam). A
batching engine implements the same call by queueing the request to its loop
thread and relaying deltas back, so tasks never change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from app.engine.types import Completion, GenerationRequest, TokenDelta

DeltaCallback = Callable[[TokenDelta], None]
StopCheck = Callable[[], bool]  # polled between decode steps; True ends the request ("cancelled")


class Engine(ABC):
    tokenizer: Any
    model_name: str
    context_length: int
    device: str

    @abstractmethod
    def generate(
        self,
        request: GenerationRequest,
        on_delta: DeltaCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> Completion:
        """Run ``request`` to its end and return the completion."""

    def close(self) -> None:
        """Release the model; the engine is unusable afterwards."""
