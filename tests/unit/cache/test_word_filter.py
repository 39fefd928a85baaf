"""The word filter that lets a lookup skip its embedding must never hide a hit the guard allows."""

from __future__ import annotations

import pytest

from cache.guard import why_different
from cache.lexicon import lexicon
from cache.word_filter import WordFilter
from loadtest.inprocess.cache_eval import read_sets


@pytest.fixture(scope="module")
def words() -> WordFilter:
    return WordFilter(lexicon())


def test_a_pair_the_guard_allows_is_always_possible(words):
    """Across every evaluation pair (9,000+; 1,900+ allowed), the filter says "possible" for each pair the guard lets through."""
    allowed = [row for rows in read_sets().values() for row in rows if why_different(row["a"], row["b"]) is None]
    assert len(allowed) > 900
    for number, row in enumerate(allowed):
        words.add(f"ns{number}", number, row["a"])
    hidden = [row for number, row in enumerate(allowed) if not words.could_hit(f"ns{number}", row["b"])]
    assert hidden == []


def test_no_entry_sharing_every_word_means_no_embedding(words):
    words.add("n", 1, "The bay is rich in fish. What is photosynthesis?")
    words.add("n", 2, "The lighthouse was automated in 1987. What does a compiler do?")
    assert words.could_hit("n", "What is photosynthesis? The bay is rich in fish.")
    assert words.could_hit("n", "Tell me what photosynthesis is. The bay is rich in fish.")
    # Each word is in some entry, but no one entry has them all: the guard could not pass any.
    assert not words.could_hit("n", "The lighthouse was automated in 1987. What is photosynthesis?")
    assert not words.could_hit("n", "What is a volcano?")
    assert not words.could_hit("elsewhere", "What is photosynthesis?")


def test_removed_entries_and_dropped_namespaces_match_nothing(words):
    words.add("r", 1, "What is the capital of France?")
    words.add("r", 2, "What is the capital of Spain?")
    assert words.could_hit("r", "Tell me the capital of France.")
    words.remove("r", 1)
    assert not words.could_hit("r", "Tell me the capital of France.")
    words.add("r", 3, "What is the capital of Italy?")  # reuses the freed row
    assert words.could_hit("r", "Tell me the capital of Italy.")
    words.drop("r")
    assert not words.could_hit("r", "What is the capital of Spain?")
