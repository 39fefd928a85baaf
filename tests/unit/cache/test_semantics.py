"""The semantic tier's decisions with the real embedding model (offline, no Redis)."""

from __future__ import annotations

import pytest

from app.config import ENV_VARS
from cache.guard import why_different

THRESHOLD = float(ENV_VARS["LLMJOBS_CACHE_THRESHOLD"][0])


@pytest.fixture(scope="module")
def embedder():
    from cache.embedder import Embedder

    return Embedder()


def test_embeddings_are_unit_vectors_and_long_prompts_get_none(embedder):
    vector = embedder.embed("What is the capital of France?")
    assert vector.shape == (384,) and abs(float(vector @ vector) - 1) < 1e-4
    long_prompt = "Summarize this text: " + "the quick brown fox jumps over the lazy dog " * 40
    assert embedder.num_tokens(long_prompt) > embedder.max_tokens
    assert embedder.embed(long_prompt) is None  # never truncated into a false hit


def test_pair_set_at_the_default_threshold(embedder, pair_rows):
    """Near misses (one entity, number or negation apart) never hit; a few paraphrases do (the rule
    refuses any changed word: issue 33 traded recall for no wrong answers)."""
    rows = pair_rows
    hits = {True: 0, False: 0}
    for row in rows:
        similarity = float(embedder.embed(row["a"]) @ embedder.embed(row["b"]))
        hit = similarity >= THRESHOLD and why_different(row["a"], row["b"]) is None
        hits[row["label"] == "paraphrase"] += hit
    near_misses = sum(r["label"] == "near_miss" for r in rows)
    paraphrases = len(rows) - near_misses
    assert near_misses >= 50 and hits[False] == 0
    assert paraphrases >= 50 and hits[True] >= 5
