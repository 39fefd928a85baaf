"""Proposing with a draft model: a smaller causal LM that shares the target's tokenizer guesses the next
tokens greedily; the target then checks them all in one forward pass.

The draft keeps the KV of the tokens it has seen. Before each proposal it keeps the part
that still matches the sequence (after verification that is everything but the rejected
guesses), crops the rest, and feeds only the new tokens, so a proposal of ``n`` tokens costs
``n`` small forward passes. A new lone sequence reuses whatever prefix it shares with the last
one (the chat template's system prompt), as the engine's prefix cache does for the target.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache

from app.engine.model_runner import cache_kwarg
from app.engine.speculator import accepted_length


class DraftModelProposer:
    def __init__(self, draft_model: Any, device: str) -> None:
        self.model = draft_model
        self.device = device
        self._cache_kwarg = cache_kwarg(draft_model)
        self._cache: DynamicCache | None = None
        self._tokens: list[int] = []  # the tokens whose KV the cache holds, in order
        self.last_fed = 0  # tokens the last proposal fed before its first guess (catch-up)

    @torch.inference_mode()
    def propose(self, tokens: list[int], num_draft: int) -> list[int]:
        """The draft's ``num_draft`` greedy next tokens after ``tokens``."""
        if num_draft <= 0 or not tokens:
            return []
        kept = accepted_length(self._tokens, tokens[:-1])  # feed at least one token: its logits start the draft
        if self._cache is None or kept == 0:
            self._cache = DynamicCache()
            kept = 0
        elif kept < len(self._tokens):
            self._cache.crop(kept - len(self._tokens))  # a negative count removes that many (every transformers version)
        feed, draft = tokens[kept:], []
        self.last_fed = len(feed)
        for _ in range(num_draft):
            out = self.model(
                input_ids=torch.tensor([feed], device=self.device),
                **{self._cache_kwarg: self._cache},
                use_cache=True,
                logits_to_keep=1,
            )
            draft.append(int(out.logits[0, -1].argmax()))
            feed = draft[-1:]
        self._tokens = [*tokens, *draft[:-1]]  # the last guess was never fed
        return draft

    def reset(self) -> None:
        """Forget the cached sequence (after a failed step)."""
        self._cache, self._tokens = None, []
