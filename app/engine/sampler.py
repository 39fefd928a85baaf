"""Choosing the next token of every row, each with its own sampling settings.

A seeded request draws from its own ``torch.Generator``, so the same seed gives
the same choices whatever else shares the batch. Penalties and ``min_tokens`` adjust a
row's logits before it is chosen from; log probabilities are of the raw logits (as vLLM
reports them by default), so they equal a plain forward pass of the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence as Seq
from typing import Any

import torch

from app.engine.types import SamplingParams, TokenLogprob

PROMPT_ROWS = 256  # prompt positions turned into log probabilities at a time


def make_generator(seed: int | None) -> torch.Generator:
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def adjust_logits(
    scores: torch.Tensor, params: SamplingParams, prompt_ids: Seq[int], output_ids: Seq[int], eos_token_ids: Iterable[int]
) -> torch.Tensor:
    """scores: (V,) one row's logits, changed in place: vLLM's repetition, frequency and presence
    penalties, then EOS masked while fewer than ``min_tokens`` tokens are out."""
    if params.repetition_penalty != 1.0:
        seen = torch.tensor(sorted({*prompt_ids, *output_ids}), dtype=torch.long, device=scores.device)
        values = scores[seen]
        scores[seen] = torch.where(values > 0, values / params.repetition_penalty, values * params.repetition_penalty)
    if output_ids and (params.frequency_penalty or params.presence_penalty):
        counts = torch.bincount(torch.tensor(list(output_ids), device=scores.device), minlength=scores.numel())[: scores.numel()]
        counts = counts.to(scores.dtype)
        scores -= params.frequency_penalty * counts + params.presence_penalty * (counts > 0).to(scores.dtype)
    if len(output_ids) < params.min_tokens:
        eos = [t for t in eos_token_ids if t < scores.numel()]
        if eos:
            scores[eos] = float("-inf")
    return scores


def token_logprob(logprobs: torch.Tensor, token_id: int, num_top: int) -> TokenLogprob:
    """logprobs: (V,) log-softmax of one position's raw logits."""
    top: list[tuple[int, float]] = []
    if num_top > 0:
        values, ids = torch.topk(logprobs, min(num_top, logprobs.numel()))
        top = list(zip(ids.tolist(), values.tolist(), strict=True))
    return TokenLogprob(token_id=token_id, logprob=float(logprobs[token_id]), top=top)


def prompt_logprobs(logits: torch.Tensor, prompt_ids: Seq[int], num_top: int) -> list[TokenLogprob | None]:
    """logits: (T, V) of a forward pass over ``prompt_ids`` (T of them); position t predicts token t + 1.
    The first token has no log probability (None), as in OpenAI's ``echo``."""
    result: list[TokenLogprob | None] = [None]
    for start in range(0, len(prompt_ids) - 1, PROMPT_ROWS):  # a chunk at a time: (T, V) float32 is large
        logprobs = torch.log_softmax(logits[start : start + PROMPT_ROWS].float(), dim=-1)  # (rows, V)
        result += [token_logprob(row, prompt_ids[start + i + 1], num_top) for i, row in enumerate(logprobs[: len(prompt_ids) - 1 - start])]
    return result


def sample(logits: torch.Tensor, seqs: list[Any]) -> list[int]:
    """logits: (B, V), one row per sequence in ``seqs``; returns one token id per row."""
    return sample_with_logprobs(logits, seqs)[0]


def sample_with_logprobs(logits: torch.Tensor, seqs: list[Any]) -> tuple[list[int], list[TokenLogprob | None]]:
    """The chosen token of each row, and its log probability where the row's request asked for them."""
    raw = logits.float()
    logits = raw
    adjusted = [row for row, seq in enumerate(seqs) if seq.sampling.has_penalties or seq.sampling.min_tokens]
    if adjusted:
        logits = raw.clone()
        for row in adjusted:
            seq = seqs[row]
            adjust_logits(logits[row], seq.sampling, seq.request.prompt_token_ids, seq.output.token_ids, seq.output.eos_token_ids)
    chosen = logits.argmax(dim=-1).tolist()  # one host sync for the whole batch
    for row, seq in enumerate(seqs):
        params = seq.sampling
        if params.is_greedy:
            continue
        if seq.generator is None:
            seq.generator = make_generator(params.seed)
        chosen[row] = draw(logits[row], params, seq.generator)
    logprobs: list[TokenLogprob | None] = [None] * len(seqs)
    for row, seq in enumerate(seqs):
        if seq.sampling.logprobs is not None:
            logprobs[row] = token_logprob(torch.log_softmax(raw[row], dim=-1), chosen[row], seq.sampling.logprobs)
    return chosen, logprobs


def draw(scores: torch.Tensor, params: SamplingParams, generator: torch.Generator) -> int:
    """scores: (V,); one token drawn under temperature, top-k and top-p."""
    scores = scores / params.temperature
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
    return int(torch.multinomial(probs.cpu(), 1, generator=generator))
