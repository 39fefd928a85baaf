"""The batching engine: one thread owns the model and loops schedule -> run -> postprocess.

Callers (Celery task threads) block in :meth:`BatchingEngine.generate`: their
request joins the batch at the next step, its token deltas come back through the
sequence's mailbox, and it leaves the batch the moment it finishes or is cancelled.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext
from typing import Any

import torch

from app.engine import tensor_parallel
from app.engine.base import DeltaCallback, Engine, StopCheck, completion_of, prompt_logprobs_of
from app.engine.draft_model_proposer import DraftModelProposer
from app.engine.lora_bank import LoraBank, check_lora_request
from app.engine.prefix_cache import PrefixCache
from app.engine.runners import build_runner
from app.engine.sampler import sample_with_logprobs
from app.engine.scheduler import Scheduler
from app.engine.sequence import Sequence, SequenceStatus
from app.engine.shared_prefill import SharedPrefill
from app.engine.speculator import Speculator
from app.engine.stats import EngineStats, batching_stats
from app.engine.structured_output import StructuredOutputs
from app.engine.types import Completion, GenerationRequest, TokenDelta, TokenLogprob
from app.errors import GenerationTimeoutError, InvalidRequestError

log = logging.getLogger(__name__)

OOM_RECOVERY_STEPS = 200  # steps without an out-of-memory error before the batch may grow back


class BatchingEngine(Engine):
    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        device: str,
        model_name: str,
        context_length: int,
        time_limit_s: float,
        max_num_seqs: int,
        max_num_batched_tokens: int,
        max_kv_tokens: int,
        prefix_cache_tokens: int = 8192,
        speculative: str = "off",
        speculative_tokens: int = 5,
        draft_model: Any = None,
        runner: str = "transformers",
        max_loras: int = 0,
    ) -> None:
        common = {"model_name": model_name, "context_length": context_length, "time_limit_s": time_limit_s, "draft_model": draft_model}
        super().__init__(model, tokenizer, device=device, **common)
        self.prefix_cache = PrefixCache(max_tokens=0 if runner == "llamacpp" else prefix_cache_tokens)  # llama.cpp's KV is not a tensor
        self.scheduler = Scheduler(
            max_num_seqs=max_num_seqs,
            max_num_batched_tokens=max_num_batched_tokens,
            max_kv_tokens=max_kv_tokens,
            prefix_len=lambda seq: self.prefix_cache.longest(seq.input_ids, seq.lora_key),
        )
        self.runner_name = runner
        # LoRA adapters apply in the lean forward (app/engine/lora_stack.py); the other runners serve the base model only.
        self.loras = LoraBank(model, max_loras) if max_loras and runner == "lean" else None
        self.runner, self.context_length = build_runner(
            runner,
            model,
            device=device,
            pad_token_id=self.eos_token_ids[0],
            prefix_cache=self.prefix_cache,
            max_num_seqs=max_num_seqs,
            context_length=context_length,
            max_kv_tokens=max_kv_tokens,
            max_step_tokens=max_num_batched_tokens,
            loras=self.loras,
        )
        if tensor_parallel.is_leader():  # rank 0 of a tensor-parallel group: the other ranks repeat each runner call
            self.runner = tensor_parallel.BroadcastingRunner(self.runner)
        self._inbox: list[Sequence] = []
        self.structured = StructuredOutputs(tokenizer, int(getattr(model.config, "vocab_size", len(tokenizer))))
        self.shared_prefill = SharedPrefill()  # n > 1 choices of one prompt: one prefill, then the prefix cache
        self._wake = threading.Condition()
        self._closed = False
        self._last_token: dict[int, int] = {}  # seq_id -> the token to feed at the next decode
        self.num_steps = 0
        self.last_batch_size = 0
        self.max_num_seqs = max_num_seqs
        self.speculator = Speculator(
            self.runner,
            num_draft_tokens=speculative_tokens,
            draft_model_proposer=DraftModelProposer(draft_model, device) if draft_model is not None else None,
            exact_verify=getattr(model, "llmjobs_quantization", "none") != "int8-dynamic",
        )
        self.set_speculative(speculative)
        self.num_preemptions = 0
        self._steps_since_oom = 0
        self._prefix_cache_switch: bool | None = None  # set by any thread, applied by the loop between steps
        self._thread = threading.Thread(target=self._loop, name="llmjobs-engine", daemon=True)
        self._thread.start()

    def generate(
        self, request: GenerationRequest, on_delta: DeltaCallback | None = None, should_stop: StopCheck | None = None
    ) -> Completion:
        output = self.start_output(request, self.eos_token_ids)
        if output.finished:
            return completion_of(request, output)
        seq = Sequence(request, output, should_stop, deadline=time.monotonic() + self.time_limit_s)
        self.scheduler.check_fits(seq)
        check_lora_request(self.loras, self.runner_name, request)
        with self.loras.pinned(request.lora, seq.deadline) if request.lora else nullcontext():  # a load runs here, not on the loop
            return self._run(seq, on_delta)

    def _run(self, seq: Sequence, on_delta: DeltaCallback | None) -> Completion:
        request, output = seq.request, seq.output
        if request.sampling.structured:  # compiled here, in the caller's thread: never on the step loop
            seq.matcher = self.structured.matcher(request.sampling.structured, list(output.token_ids))
        if request.sampling.prompt_logprobs is not None and isinstance(self.runner, tensor_parallel.BroadcastingRunner):
            raise InvalidRequestError("echo", "prompt log probabilities are not available under tensor parallelism")
        # In the caller's thread: a plain forward pass that needs no batch slot and no KV.
        seq.prompt_logprobs = prompt_logprobs_of(self.model, request, self.device)
        with self._wake:
            if self._closed:
                raise RuntimeError("the engine is closed")
            self._inbox.append(seq)
            self._wake.notify()
        while True:
            item = seq.mailbox.get()
            if isinstance(item, TokenDelta):
                if on_delta is not None:
                    on_delta(item)
            elif isinstance(item, BaseException):
                raise item
            else:
                return item

    def set_prefix_cache(self, enabled: bool) -> None:
        """Turn prefix reuse on or off from the next step (off also frees what it holds)."""
        self._prefix_cache_switch = enabled
        with self._wake:
            self._wake.notify()

    def set_speculative(self, mode: str) -> None:
        self.speculator.set_mode(mode)

    def stats(self) -> EngineStats:
        return batching_stats(self)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=10)
        if isinstance(self.runner, tensor_parallel.BroadcastingRunner):
            self.runner.close()  # release the follower ranks

    # --- the loop (engine thread only) ---

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._inbox and not self.scheduler.num_unfinished and not self.shared_prefill.held and not self._closed:
                    self._wake.wait()
                if self._closed:
                    break
                arrivals, self._inbox = self._inbox, []
            for seq in self.shared_prefill.admit(arrivals, enabled=self.prefix_cache.enabled):
                self.scheduler.add(seq)
            try:
                self._step()
                self._steps_since_oom += 1
                if self._steps_since_oom == OOM_RECOVERY_STEPS:  # memory held up: admit as many as configured again
                    self.scheduler.max_num_seqs = self.max_num_seqs
            except torch.OutOfMemoryError as exc:
                self._on_out_of_memory(exc)
            except Exception as exc:  # a failed forward pass must fail its requests, not hang them
                log.exception("engine step failed")
                self._fail_all(exc)
        self._fail_all(RuntimeError("the engine was closed"))

    @torch.inference_mode()
    def _step(self) -> None:
        if self._prefix_cache_switch is not None:
            enabled, self._prefix_cache_switch = self._prefix_cache_switch, None
            self.prefix_cache.enabled = enabled and self.prefix_cache.max_tokens > 0
            if not enabled:
                self.prefix_cache.clear()
        self._check_stops()
        self.runner.drop_finished()  # cancelled rows leave before the next forward pass
        self._yield_background()
        plan = self.scheduler.schedule()
        if plan.is_empty:
            return
        self.num_steps += 1
        self.last_batch_size = len(plan.decode) + (len(plan.prefill.group) if plan.prefill is not None else 0)
        if plan.decode and not (
            plan.prefill is None
            and plan.decode[0].sampling.is_plain  # penalties, min_tokens and logprobs are per token: no drafting
            and self.speculator.step(plan.decode, self._last_token[plan.decode[0].seq_id], self._postprocess)
        ):
            started = time.perf_counter()
            logits = self.runner.decode([self._last_token[seq.seq_id] for seq in plan.decode])
            self.structured.mask(logits, plan.decode)
            self._postprocess(plan.decode, *sample_with_logprobs(logits, plan.decode))
            if len(plan.decode) == 1 and plan.prefill is None:
                self.speculator.record_plain_step(time.perf_counter() - started)
        if plan.prefill is not None:
            logits = self.runner.prefill(plan.prefill)
            self.scheduler.prefill_advanced(plan.prefill)
            if logits is not None:
                self.structured.mask(logits, plan.prefill.group)
                self._postprocess(plan.prefill.group, *sample_with_logprobs(logits, plan.prefill.group), skip_finished=True)
                self.runner.admit_group()
        self.runner.drop_finished()

    def _postprocess(
        self, seqs: list[Sequence], tokens: list[int], logprobs: list[TokenLogprob | None] | None = None, skip_finished: bool = False
    ) -> None:
        for row, (seq, token) in enumerate(zip(seqs, tokens, strict=True)):
            if seq.is_finished:
                assert skip_finished
                continue
            index = len(seq.output.token_ids)
            text = seq.output.append(token)
            self.structured.accept(seq, token)
            self._last_token[seq.seq_id] = token
            logprob = logprobs[row] if logprobs is not None else None
            prompt_logprobs, seq.prompt_logprobs = seq.prompt_logprobs, None  # with the first delta only
            delta = TokenDelta(index, text, [token], logprobs=[logprob] if logprob else None, prompt_logprobs=prompt_logprobs)
            seq.mailbox.put(delta)
            if seq.output.finished:
                self._finish(seq)

    def _check_stops(self) -> None:
        now = time.monotonic()
        for seq in [*self.scheduler.running, *self.scheduler.prefilling, *self.scheduler.waiting]:
            if seq.is_finished:
                continue
            if seq.should_stop is not None and seq.should_stop():
                seq.output.finish("cancelled")
                self._finish(seq)
            elif now > seq.deadline:
                self.scheduler.finish(seq)
                self._last_token.pop(seq.seq_id, None)
                seq.mailbox.put(GenerationTimeoutError(f"generation ran past the time limit of {self.time_limit_s:g} s"))

    def _finish(self, seq: Sequence) -> None:
        self.scheduler.finish(seq)
        self._last_token.pop(seq.seq_id, None)
        tail = seq.output.finish(seq.output.finish_reason or "length")
        if tail:
            seq.mailbox.put(TokenDelta(index=len(seq.output.token_ids), text=tail, token_ids=[]))
        seq.mailbox.put(completion_of(seq.request, seq.output))

    def _yield_background(self) -> None:  # background rows past the scheduler's allowance leave while urgent work runs
        if victims := self.scheduler.background_victims():
            self.runner.release(victims)
            self.scheduler.preempt_background(victims)  # their recompute's prefill sets their last token again
            self.num_preemptions += len(victims)

    def _on_out_of_memory(self, exc: BaseException) -> None:
        """Shrink the batch instead of dying. The failed forward pass may have appended KV to
        some layers and not others, so every sequence in flight goes back to the front of the
        queue to be recomputed from its prompt and the tokens it already produced (nothing
        streamed is lost or repeated), and admission is capped at half as many until
        OOM_RECOVERY_STEPS steps pass without another error."""
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
        scheduler = self.scheduler
        victims = [*scheduler.prefilling, *scheduler.running]
        if len([seq for seq in victims if not seq.is_finished]) <= 1:  # nothing left to shrink: this request cannot fit
            log.error("out of memory with a single sequence: failing it")
            self._fail_all(exc)
            return
        self.runner.reset()  # every row in flight is a victim
        self._last_token.clear()
        scheduler.preempt(victims)
        scheduler.max_num_seqs = max(1, len(victims) // 2)
        self.num_preemptions += len(victims)
        self._steps_since_oom = 0
        message = "out of memory in a step: %d sequences preempted for recompute, admitting at most %d until memory holds"
        log.warning(message, len(victims), scheduler.max_num_seqs)

    def _fail_all(self, exc: BaseException) -> None:
        for seq in self.shared_prefill.release_all():  # never scheduled: nothing to free
            seq.status = SequenceStatus.FINISHED
            seq.mailbox.put(exc)
        for seq in [*self.scheduler.running, *self.scheduler.prefilling, *self.scheduler.waiting]:
            if not seq.is_finished:
                self.scheduler.finish(seq)
                seq.mailbox.put(exc)
        self.runner.reset()
        self.speculator.reset()
        self._last_token.clear()
