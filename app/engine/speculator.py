"""Speculative decoding for the batching engine: guess a few tokens cheaply, have the model check
them all in one forward pass, keep the agreed prefix plus the model's own next token.

Words used throughout: a *draft* is the tokens guessed for one pass; a *proposer* makes it, by
prompt lookup (app/engine/prompt_lookup.py) or with a *draft model*, a smaller LM sharing the
target's tokenizer (app/engine/draft_model_proposer.py); *verification* is the target's pass.

Speculation turns itself down where it stops paying: for batches of more than one (with more
rows the step is bound by the matrix products, extra verified positions cost real time, and
vLLM measured slowdowns at high load), for sampled requests (exact only for greedy), and per
request through :class:`~app.engine.backoff.Backoff`. Never under a weight format that scales activations per
tensor (``int8-dynamic``): a verified position's logits would depend on the draft tokens
beside it, and the output would no longer be exactly the one without speculation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from app.engine.prompt_lookup import propose
from app.engine.sampler import sample
from app.engine.sequence import Sequence

log = logging.getLogger(__name__)


def accepted_length(draft: list[int], verified: list[int]) -> int:
    """How many draft tokens the model agrees with: ``verified[i]`` is the model's own choice
    after the context plus ``draft[:i]`` (greedy verification). Also the length of the common
    prefix of two token lists."""
    count = 0
    for guess, choice in zip(draft, verified, strict=False):
        if guess != choice:
            break
        count += 1
    return count


class Speculator:
    def __init__(self, runner: Any, *, num_draft_tokens: int, draft_model_proposer: Any = None, exact_verify: bool = True) -> None:
        self.runner = runner
        self.num_draft_tokens = num_draft_tokens  # tokens drafted per verification pass
        self.draft_model_proposer = draft_model_proposer
        self.exact_verify = exact_verify
        self.mode = "off"  # the `speculative` switch; read once per step
        self.plain_step_s: float | None = None  # moving average of a lone plain decode step
        self.num_drafts = self.num_proposed_tokens = self.num_accepted_tokens = self.num_backoffs = 0

    def set_mode(self, mode: str) -> None:
        if mode == "draft-model" and self.draft_model_proposer is None:
            raise ValueError("speculative=draft-model needs a draft model: set LLMJOBS_DRAFT_MODEL and restart the worker")
        self.mode = mode

    def record_plain_step(self, elapsed_s: float) -> None:
        """What a lone decode step costs without drafting (the yardstick of each request's back-off)."""
        self.plain_step_s = elapsed_s if self.plain_step_s is None else 0.8 * self.plain_step_s + 0.2 * elapsed_s

    def reset(self) -> None:
        if self.draft_model_proposer is not None:
            self.draft_model_proposer.reset()

    def step(self, decode: list[Sequence], last_token: int, postprocess: Callable[[list[Sequence], list[int]], None]) -> bool:
        """Decode ``decode`` speculatively when it is one greedy sequence and drafting pays;
        False when it does not apply (the engine then decodes as usual)."""
        mode = self.mode  # read once: the switch may change from another thread
        if mode == "off" or len(decode) != 1 or not self.exact_verify:
            return False
        seq = decode[0]
        produced = len(seq.output.token_ids)
        if not seq.sampling.is_greedy or self.plain_step_s is None or seq.backoff.paused(produced):
            return False  # sampled / measure a plain step first / backing off
        started = time.perf_counter()
        tokens = [*seq.request.prompt_token_ids, *seq.output.token_ids]
        num_draft = min(self.num_draft_tokens, seq.sampling.max_tokens - produced - 1)
        draft, catching_up = self._propose(mode, seq, tokens, num_draft)
        if not draft:
            return False
        logits = self.runner.verify(last_token, draft)
        choices = sample(logits, [seq] * len(logits))  # greedy: the same rule as a plain step, one host sync
        kept = accepted_length(draft, choices)
        self.runner.rewind(len(draft) - kept)
        self.num_proposed_tokens += len(draft)
        self.num_accepted_tokens += kept
        self.num_drafts += 1
        for token in [*draft[:kept], choices[kept]]:
            postprocess([seq], [token])
            if seq.is_finished:
                break
        if not catching_up and seq.backoff.record(
            (time.perf_counter() - started) / (kept + 1), self.plain_step_s, len(seq.output.token_ids)
        ):
            self.num_backoffs += 1
        return True

    def _propose(self, mode: str, seq: Sequence, tokens: list[int], num_draft: int) -> tuple[list[int], bool]:
        """(the draft, whether this pass caught the draft model up and is not a fair timing)."""
        proposer = self.draft_model_proposer
        if mode != "draft-model" or proposer is None:
            return propose(tokens, num_draft=num_draft), False
        try:
            draft = proposer.propose(tokens, num_draft)
        except Exception:  # the draft model is optional: its failure must not fail the request
            log.exception("draft model failed: request %s decodes without it", seq.request.request_id)
            proposer.reset()
            seq.backoff.give_up(seq.sampling.max_tokens)
            return [], False
        # feeding the draft model a whole prompt (or what it missed while backing off) is not what a pass costs
        return draft, proposer.last_fed > self.num_draft_tokens + 1
