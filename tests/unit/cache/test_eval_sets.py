"""The semantic cache's evaluation sets are data the one eval command reads (no model: the pairs only)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from loadtest.inprocess.cache_eval import SETS, read_sets

DATA = Path(__file__).resolve().parents[3] / "loadtest" / "inprocess" / "data"


def test_every_set_is_a_file_of_labelled_pairs_and_every_file_a_set():
    assert sorted(p.name for p in DATA.iterdir()) == sorted(f"cache_{name}.jsonl" for name in SETS)
    sets = read_sets()
    for name, rows in sets.items():
        labels = Counter(r["label"] for r in rows)
        assert set(labels) <= {"paraphrase", "near_miss"} and labels["near_miss"] >= 60, (name, labels)
        assert all(r["a"] != r["b"] and isinstance(r["category"], str) for r in rows), name


def test_a_pair_counts_in_the_first_set_that_holds_it():
    sets = read_sets()
    pairs = [(r["a"], r["b"]) for rows in sets.values() for r in rows]
    assert len(pairs) == len(set(pairs))
    assert sum(map(len, sets.values())) > 13_000


def test_the_new_users_probe_holds_the_wrong_answer_issue_33_found():
    rows = read_sets()["new_user"]
    near = {(r["a"], r["b"]) for r in rows if r["label"] == "near_miss"}
    assert ("How many minutes are in an hour?", "How many seconds are in an hour?") in near
    assert {r["category"] for r in rows if r["label"] == "near_miss"} >= {"number", "unit", "entity", "negation", "role", "antonym"}
