"""The guard's subject/object check (cache/structure.py) on spaCy's real English pipeline: no Redis, no LLM."""

from __future__ import annotations

import pytest

from cache.guard import Rules, why_different
from cache.structure import OBJECT, SUBJECT, roles_swapped, verb_roles


def test_a_passive_names_its_doer_as_the_active_does():
    assert ("booth", "kill", SUBJECT) in verb_roles("Lincoln was killed by Booth.")
    assert ("lincoln", "kill", OBJECT) in verb_roles("Lincoln was killed by Booth.")
    assert ("?", "kill", SUBJECT) in verb_roles("Who killed Lincoln?")


@pytest.mark.parametrize(
    ("cached", "new"),
    [
        ("Who killed Lincoln?", "Who did Lincoln kill?"),
        ("What eats snakes?", "What do snakes eat?"),
        ("What causes inflation?", "What does inflation cause?"),
        ("How do you say I love you in French?", "How do you say you love me in French?"),
        ("Name the scientist who Einstein admired", "Name the scientist who admired Einstein"),
    ],
)
def test_who_did_what_to_whom_swapped_is_refused(cached, new):
    assert roles_swapped(cached, new) is not None
    assert why_different(cached, new) is not None
    assert why_different(new, cached) is not None
    assert why_different(cached, new, Rules(structure=False)) is None  # what the word alignment alone let through


@pytest.mark.parametrize(
    ("cached", "new"),
    [
        ("Who wrote Hamlet?", "Who was Hamlet written by?"),  # a passive keeps who did what
        ("How many letters are in the Greek alphabet?", "How many letters does the Greek alphabet have?"),  # another verb
        ("eu countries that use the euro", "In the EU, which nations use the euro?"),  # "that" is no question word
    ],
)
def test_the_same_roles_in_other_words_pass(cached, new):
    assert roles_swapped(cached, new) is None
