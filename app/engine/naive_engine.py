"""The baseline engine: one request at a time through plain ``model.generate``.

This is the seed plan's "current stack" and the rollback for faster engines.
It streams through a transformers streamer and stops early (stop string,
cancellation, time limit) through a stopping criterion.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from app.engine.base import DeltaCallback, Engine, StopCheck, completion_of, prompt_logprobs_of
from app.engine.output_processor import OutputProcessor
from app.engine.sampler import adjust_logits, token_logprob
from app.engine.stats import EngineStats
from app.engine.types import Completion, GenerationRequest, SamplingParams, TokenDelta, TokenLogprob
from app.errors import GenerationTimeoutError, InvalidRequestError


class _Adjust(LogitsProcessor):
    """The batching engine's per-request logits rules inside ``generate``: it sees the raw logits
    first (the only processor: temperature and top-k/p come after it), keeps their log-softmax
    for the streamer, then applies the penalties and the EOS mask of ``min_tokens`` / ``ignore_eos``."""

    def __init__(self, sampling: SamplingParams, prompt_ids: list[int], output: OutputProcessor, eos_token_ids: list[int]) -> None:
        self.sampling = sampling
        self.prompt_ids = prompt_ids
        self.output = output
        self.eos_token_ids = eos_token_ids
        self.pending: list[torch.Tensor] = []  # (V,) log-softmax of the raw logits, one per step not yet streamed

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        row = scores[0]  # (V,): one request at a time
        if self.sampling.logprobs is not None:
            self.pending.append(torch.log_softmax(row.float(), dim=-1))
        min_tokens = self.sampling.max_tokens if self.sampling.ignore_eos else self.sampling.min_tokens
        params = dataclasses.replace(self.sampling, min_tokens=min_tokens)
        adjust_logits(row, params, self.prompt_ids, self.output.token_ids, self.eos_token_ids)
        return scores


class _DeltaStreamer(BaseStreamer):
    """Feeds each generated token to the OutputProcessor and reports the delta."""

    def __init__(
        self,
        output: OutputProcessor,
        on_delta: DeltaCallback | None,
        adjust: _Adjust | None = None,
        prompt_logprobs: list[TokenLogprob | None] | None = None,
    ) -> None:
        self.output = output
        self.on_delta = on_delta
        self.seen_prompt = False
        self.adjust = adjust
        self.prompt_logprobs = prompt_logprobs  # sent with the first delta

    def put(self, value: torch.Tensor) -> None:
        if not self.seen_prompt:  # generate() first hands over the prompt ids
            self.seen_prompt = True
            return
        for token_id in value.reshape(-1).tolist():
            if self.output.finished:
                return
            logprobs = None
            if self.adjust is not None and self.adjust.pending:
                logprobs = [token_logprob(self.adjust.pending.pop(0), token_id, self.adjust.sampling.logprobs or 0)]
            index = len(self.output.token_ids)
            text = self.output.append(token_id)
            if self.on_delta is not None:
                prompt_logprobs, self.prompt_logprobs = self.prompt_logprobs, None
                self.on_delta(TokenDelta(index=index, text=text, token_ids=[token_id], logprobs=logprobs, prompt_logprobs=prompt_logprobs))

    def end(self) -> None:
        pass


class _StopWhen(StoppingCriteria):
    def __init__(self, output: OutputProcessor, should_stop: StopCheck | None, deadline: float) -> None:
        self.output = output
        self.should_stop = should_stop
        self.deadline = deadline
        self.reason: str | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.BoolTensor:
        if self.output.finished:
            stop = True
        elif self.should_stop is not None and self.should_stop():
            self.reason, stop = "cancelled", True
        elif time.monotonic() > self.deadline:
            self.reason, stop = "timeout", True
        else:
            stop = False
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


class NaiveEngine(Engine):
    def __init__(self, model: Any, tokenizer: Any, **settings: Any) -> None:
        """``settings``: those of :class:`Engine` (device, model_name, context_length, ...)."""
        super().__init__(model, tokenizer, **settings)
        self._lock = threading.Lock()  # one request at a time: generate() is not re-entrant

    def stats(self) -> EngineStats:
        busy = int(self._lock.locked())
        return EngineStats(num_running=busy, batch_size=busy)

    @torch.inference_mode()
    def generate(
        self, request: GenerationRequest, on_delta: DeltaCallback | None = None, should_stop: StopCheck | None = None
    ) -> Completion:
        sampling = request.sampling
        if sampling.structured:  # a grammar per step lives in the batching engine's step (app/engine/structured_output.py)
            raise InvalidRequestError("response_format", "structured outputs and forced tool calls need LLMJOBS_ENGINE=batching")
        if request.lora is not None:
            raise InvalidRequestError("model", "LoRA adapters run in the batching engine's lean runner (LLMJOBS_ENGINE=batching)")
        output = self.start_output(request, self.eos_token_ids)
        stop_when = _StopWhen(output, should_stop, time.monotonic() + self.time_limit_s)
        if not output.finished:
            with self._lock:
                adjust = _Adjust(sampling, request.prompt_token_ids, output, self.eos_token_ids)
                streamer = _DeltaStreamer(output, on_delta, adjust, prompt_logprobs_of(self.model, request, self.device))
                remaining = sampling.max_tokens - len(output.token_ids)
                self._generate(request.prompt_token_ids + output.token_ids, remaining, sampling, adjust, streamer, stop_when)
        if stop_when.reason == "timeout":
            raise GenerationTimeoutError(f"generation ran past the time limit of {self.time_limit_s:g} s")
        tail = output.finish(stop_when.reason or "length")
        if tail and on_delta is not None:
            on_delta(TokenDelta(index=len(output.token_ids), text=tail, token_ids=[]))
        return completion_of(request, output)

    def _generate(
        self,
        input_ids: list[int],
        max_new_tokens: int,
        sampling: SamplingParams,
        adjust: _Adjust,
        streamer: _DeltaStreamer,
        stop_when: _StopWhen,
    ) -> None:
        ids = torch.tensor([input_ids], device=self.device)
        greedy = sampling.is_greedy
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        self.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=not greedy,
            temperature=None if greedy else sampling.temperature,
            top_p=None if greedy else sampling.top_p,
            top_k=None if greedy else sampling.top_k,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.eos_token_ids[0],
            logits_processor=LogitsProcessorList([adjust]),  # penalties, min_tokens, ignore_eos, logprobs
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([stop_when]),
        )

    def close(self) -> None:
        self.model = None
