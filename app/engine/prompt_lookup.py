"""Prompt-lookup proposing (n-gram speculation): guess the next tokens by finding the latest
tokens earlier in the sequence and proposing what followed them there. No second model.

Input-grounded requests (summarize, rewrite, extract, answer from a document) copy long runs
from their prompt, so the guesses are often right; the model then checks several guessed tokens
in one forward pass instead of producing one token per pass. Pure Python, no torch.
"""

from __future__ import annotations


def propose(tokens: list[int], *, max_ngram: int = 3, min_ngram: int = 1, num_draft: int = 5) -> list[int]:
    """Up to ``num_draft`` tokens that followed the most recent earlier occurrence of the
    longest suffix n-gram of ``tokens`` (n from ``max_ngram`` down to ``min_ngram``); [] if none."""
    if num_draft <= 0:
        return []
    for n in range(min(max_ngram, len(tokens) - 1), min_ngram - 1, -1):
        suffix = tokens[-n:]
        # search backwards, excluding the suffix itself, for the most recent earlier match
        for start in range(len(tokens) - n - 1, -1, -1):
            if tokens[start : start + n] == suffix:
                follow = tokens[start + n : start + n + num_draft]
                if follow:
                    return follow
    return []
