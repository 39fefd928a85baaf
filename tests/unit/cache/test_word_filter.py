"""The word filter that lets a lookup skip its embedding must never hide a hit the rule allows."""

from __future__ import annotations

from cache.guard import why_different
from cache.word_filter import WordFilter
from loadtest.inprocess.cache_eval import read_sets


def test_a_pair_the_rule_allows_is_always_possible():
    """Across every evaluation pair, the filter says "possible" for each pair the rule lets through."""
    allowed = [row for rows in read_sets().values() for row in rows if why_different(row["a"], row["b"]) is None]
    assert len(allowed) > 150
    words = WordFilter()
    for number, row in enumerate(allowed):
        words.add(f"ns{number}", number, row["a"])
    assert [row for number, row in enumerate(allowed) if not words.could_hit(f"ns{number}", row["b"])] == []


def test_no_entry_with_the_same_words_means_no_embedding():
    words = WordFilter()
    words.add("n", 1, "What is photosynthesis?")
    words.add("n", 2, "What does a compiler do?")
    assert words.could_hit("n", "what's photosynthesis")
    assert not words.could_hit("n", "Tell me what photosynthesis is.")
    assert not words.could_hit("n", "What is a volcano?")
    assert not words.could_hit("elsewhere", "What is photosynthesis?")


def test_removed_entries_and_dropped_namespaces_match_nothing():
    words = WordFilter()
    words.add("r", 1, "What is the capital of France?")
    words.add("r", 2, "What's the capital of France?")  # the same words: both entries hold them
    words.add("r", 3, "What is the capital of Spain?")
    words.remove("r", 1)
    assert words.could_hit("r", "What is the capital of France?")
    words.remove("r", 2)
    words.remove("r", 2)  # twice: no harm
    assert not words.could_hit("r", "What is the capital of France?")
    words.drop("r")
    assert not words.could_hit("r", "What is the capital of Spain?")
    words.add("r", 4, "What is the capital of Italy?")
    words.clear()
    assert not words.could_hit("r", "What is the capital of Italy?")
