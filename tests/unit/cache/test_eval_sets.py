"""The semantic cache's evaluation sets have the shape issue 18 asks for (no model: the pairs only)."""

from __future__ import annotations

from collections import Counter

from loadtest.inprocess.cache_eval import all_pairs
from loadtest.inprocess.cache_fresh import fresh_pairs
from loadtest.inprocess.cache_fresh2 import fresh2_pairs
from loadtest.inprocess.cache_fresh3 import fresh3_pairs
from loadtest.inprocess.cache_pairs import pairs

CATEGORIES = {"antonym", "entity", "code", "number", "unit", "date", "negation", "quantifier", "tense", "person", "constraint"}


def test_each_held_out_set_is_large_enough_and_covers_every_category():
    for rows, split in ((pairs(), "test"), (fresh_pairs(), "fresh"), (fresh2_pairs(), "fresh2")):
        part = [r for r in rows if r["split"] == split]
        labels = Counter(r["label"] for r in part)
        assert labels["near_miss"] >= 300 and (labels["paraphrase"] >= 300 or split == "test"), (split, labels)
        assert {r["category"] for r in part} == CATEGORIES, split
        assert all(r["a"] != r["b"] for r in part)


def test_the_fresh_sets_share_no_more_than_one_pair_with_the_first_set_or_each_other():
    sets = [{(r["a"], r["b"]) for r in rows} for rows in (pairs(), fresh_pairs(), fresh2_pairs())]
    # one paraphrase recurs by chance (the first set's dev part and cache_fresh both convert 5 kilometers to miles)
    assert sets[0] & sets[1] == {("Convert 5 kilometers to miles.", "What is 5 kilometers in miles?")}
    assert not sets[0] & sets[2] and not sets[1] & sets[2]


def test_the_fourth_set_covers_the_issues_categories_and_repeats_counted_once():
    rows = fresh3_pairs()
    labels = Counter(r["label"] for r in rows)
    assert labels["near_miss"] >= 300 and labels["paraphrase"] >= 300
    assert {r["category"] for r in rows} == {"antonym", "entity", "number", "negation", "tense", "person", "constraint", "code"}
    # written independently, it repeats a few natural pairs of the earlier sets: the evaluation counts them there only
    earlier = {(r["a"], r["b"]) for r in pairs() + fresh_pairs() + fresh2_pairs()}
    assert len({(r["a"], r["b"]) for r in rows} & earlier) == 25
    assert len([r for r in all_pairs() if r["split"] == "fresh3"]) == len(rows) - 25


def test_the_structure_sets_cover_who_does_what_to_whom():
    from loadtest.inprocess.cache_eval import structure_pairs

    rows = structure_pairs()
    for split, least in (("structure", (300, 360)), ("structure_test", (220, 270))):
        part = [r for r in rows if r["split"] == split]
        labels = Counter(r["label"] for r in part)
        assert labels["near_miss"] >= least[0] and labels["paraphrase"] >= least[1], (split, labels)
        assert {r["category"] for r in part} == {"voice", "possession", "person", "modality", "clauses", "progressive"}
        assert all(r["a"] != r["b"] for r in part)
