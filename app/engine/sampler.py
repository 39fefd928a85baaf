"""Choosing the next token of every row, each with its own sampling settings.

A seeded request draws from its own ``torch.Generator``, so the same seed gives
the same choices whatever else shares the batch.
"""

from __future__ import annotations

import torch

from app.engine.sequence import Sequence


def make_generator(seed: int | None) -> torch.Generator:
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def sample(logits: torch.Tensor, seqs: list[Sequence]) -> list[int]:
    """logits: (B, V), one row per sequence in ``seqs``; returns one token id per row."""
    logits = logits.float()
    chosen = logits.argmax(dim=-1).tolist()  # one host sync for the whole batch
    for row, seq in enumerate(seqs):
        params = seq.sampling
        if params.is_greedy:
            continue
        if seq.generator is None:
            seq.generator = make_generator(params.seed)
        scores = logits[row] / params.temperature
        if params.top_k > 0:
            kth = torch.topk(scores, min(params.top_k, scores.numel())).values[-1]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        if params.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            # keep the smallest set whose mass reaches top_p (the first token always stays)
            drop = sorted_probs.cumsum(-1) - sorted_probs > params.top_p
            sorted_probs = sorted_probs.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
        chosen[row] = int(torch.multinomial(probs.cpu(), 1, generator=seq.generator))
    return chosen
