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

import torch

from app.engine.output_processor import OutputProcessor
from app.engine.sampler import prompt_logprobs
from app.engine.stats import EngineStats
from app.engine.types import Completion, GenerationRequest, TokenDelta, TokenLogprob
from app.errors import InvalidRequestError

DeltaCallback = Callable[[TokenDelta], None]
StopCheck = Callable[[], bool]  # polled between decode steps; True ends the request ("cancelled")


def eos_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """The model's end-of-sequence ids (its generation config first, else the tokenizer's)."""
    eos = model.generation_config.eos_token_id if model is not None else None
    if eos is None and tokenizer is not None:
        eos = tokenizer.eos_token_id
    return [eos] if isinstance(eos, int) else list(eos or [])


class Engine(ABC):
    def __init__(
        self, model: Any, tokenizer: Any, *, device: str, model_name: str, context_length: int, time_limit_s: float, draft_model: Any = None
    ) -> None:
        self.model = model
        self.draft_model = draft_model  # speculative decoding's smaller model, if one was loaded (kept across engine rebuilds)
        self.tokenizer = tokenizer
        self.device = device
        self.model_name = model_name
        self.context_length = context_length
        self.time_limit_s = time_limit_s
        self.eos_token_ids = eos_token_ids(model, tokenizer)

    @abstractmethod
    def generate(
        self,
        request: GenerationRequest,
        on_delta: DeltaCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> Completion:
        """Run ``request`` to its end and return the completion."""

    def close(self) -> None:  # noqa: B027 - optional: engines without threads have nothing to release
        """Release the model; the engine is unusable afterwards."""

    def stats(self) -> EngineStats:
        """What the engine is doing now (for metrics); engines that batch say more."""
        return EngineStats()

    def set_prefix_cache(self, enabled: bool) -> None:  # noqa: B027 - optional switch
        """The `prefix_cache` switch; engines without prefix reuse ignore it."""

    def set_speculative(self, mode: str) -> None:  # noqa: B027 - optional switch
        """The `speculative` switch; engines without speculation ignore it. Raises ValueError
        for a mode this engine cannot run (``draft-model`` without a draft model)."""

    def start_output(self, request: GenerationRequest, eos_token_ids: list[int]) -> OutputProcessor:
        """Check ``request`` fits the context; return its output state, with any tokens an
        earlier attempt already streamed replayed into it (silently)."""
        sampling = request.sampling
        num_prompt = len(request.prompt_token_ids)
        if num_prompt == 0 or num_prompt + sampling.max_tokens > self.context_length:
            raise InvalidRequestError(
                "prompt", f"{num_prompt} prompt tokens + max_tokens={sampling.max_tokens} do not fit the context of {self.context_length}"
            )
        eos = () if sampling.ignore_eos else eos_token_ids
        output = OutputProcessor(
            self.tokenizer,
            stop=sampling.stop,
            eos_token_ids=eos,
            max_tokens=sampling.max_tokens,
            min_tokens=sampling.min_tokens,
            skip_special_tokens=sampling.skip_special_tokens,
            include_stop_str_in_output=sampling.include_stop_str_in_output,
        )
        for token_id in request.resume_token_ids:
            if not output.finished:
                output.append(token_id)
        return output


def prompt_logprobs_of(model: Any, request: GenerationRequest, device: str) -> list[TokenLogprob | None] | None:
    """The prompt tokens' log probabilities (OpenAI's ``echo``) from one plain forward pass over the
    prompt, or None when not asked for. A pass of its own: the runners return last-position logits only."""
    num_top = request.sampling.prompt_logprobs
    if num_top is None:
        return None
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([request.prompt_token_ids], device=device)).logits[0]  # (T, V)
    return prompt_logprobs(logits, request.prompt_token_ids, num_top)


def completion_of(request: GenerationRequest, output: OutputProcessor) -> Completion:
    return Completion(
        text=output.text,
        finish_reason=output.finish_reason or "length",
        prompt_tokens=len(request.prompt_token_ids),
        completion_tokens=len(output.token_ids),
        token_ids=list(output.token_ids),
    )
