"""One request inside the batching engine: its tokens, sampling state and mailbox."""

from __future__ import annotations

import itertools
import queue
from enum import Enum, auto
from typing import Any

from app.engine.backoff import Backoff
from app.engine.base import StopCheck
from app.engine.output_processor import OutputProcessor
from app.engine.types import GenerationRequest, SamplingParams


class SequenceStatus(Enum):
    WAITING = auto()
    PREFILLING = auto()
    RUNNING = auto()
    FINISHED = auto()


class Sequence:
    _ids = itertools.count()

    def __init__(self, request: GenerationRequest, output: OutputProcessor, should_stop: StopCheck | None, deadline: float) -> None:
        self.seq_id = next(self._ids)
        self.request = request
        self.output = output
        self.should_stop = should_stop
        self.deadline = deadline
        self.status = SequenceStatus.WAITING
        # Replayed tokens (a redelivered job) are part of the input, as in the naive engine.
        self.input_ids = list(request.prompt_token_ids) + list(output.token_ids)
        self.mailbox: queue.SimpleQueue[Any] = queue.SimpleQueue()  # TokenDelta ..., then a Completion or an exception
        self.reserved_tokens = 0  # KV tokens the scheduler set aside when it admitted this sequence
        self.generator: Any = None  # torch.Generator for seeded sampling, made by the sampler
        self.backoff = Backoff()  # speculative decoding's per-request policy
        self.prompt_logprobs: Any = None  # echo's prompt log probabilities, until the first delta carries them
        self.matcher: Any = None  # a constrained output's grammar state (app/engine/structured_output.py)
        self.lora_key = request.lora.digest if request.lora is not None else None  # its adapter in the LoRA bank

    @property
    def sampling(self) -> SamplingParams:
        return self.request.sampling

    @property
    def num_prompt_tokens(self) -> int:
        return len(self.input_ids)

    @property
    def num_reserved_tokens(self) -> int:
        """KV slots this sequence may need at most: all its input plus what it may still generate."""
        return len(self.input_ids) + self.sampling.max_tokens - len(self.output.token_ids)

    @property
    def is_finished(self) -> bool:
        return self.status is SequenceStatus.FINISHED
