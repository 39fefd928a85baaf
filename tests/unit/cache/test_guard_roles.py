"""The guard's role, request-verb and generic-person rules (issue 18): pure logic, no model, no Redis."""

from __future__ import annotations

import pytest

from cache.guard import Rules, why_different


@pytest.mark.parametrize(
    ("cached", "new"),
    [
        ("What is 10 pounds in kilograms?", "What is 10 kilograms in pounds?"),  # the test part's false hits
        ("Convert 10 pounds to kilograms.", "What is 10 kilograms in pounds?"),  # across wordings: to and in mark one goal
        ("How many kilograms is 10 pounds?", "How many pounds is 10 kilograms?"),  # "how many X": X is the goal
        ("Convert 5 feet to meters.", "How many feet are in 5 meters?"),  # after "how many X", "in" marks the whole
        ("How many meters are in 5 feet?", "What is 5 meters in feet?"),
        ("What is the ratio of boys to girls?", "What is the ratio of girls to boys?"),  # not about units
        ("How do I copy files from server to laptop?", "How do I copy files from laptop to server?"),
        ("How do I convert a list to a dict in Python?", "How do I convert a dict to a list in Python?"),
    ],
)
def test_words_that_trade_roles_are_refused(cached, new):
    assert why_different(cached, new)
    assert why_different(new, cached)


@pytest.mark.parametrize(
    ("cached", "new"),
    [
        ("Convert 3 miles to kilometers.", "How many kilometers is 3 miles?"),
        ("Convert 5 feet to meters.", "How many meters are in 5 feet?"),
        ("How many meters are in 5 feet?", "What is 5 feet in meters?"),
        ("How do I convert a list to a dict in Python?", "In Python, how can I convert a list to a dict?"),
        ("How do you say thank you in Korean?", "What is thank you in Korean?"),  # a request verb only frames it
        ("Explain the causes of inflation.", "What are the causes of inflation?"),
        ("How do I sort a list in Python?", "How to sort a list in Python?"),  # "I" here is anyone
    ],
)
def test_rewordings_keep_their_roles(cached, new):
    assert why_different(cached, new) is None
    assert why_different(new, cached) is None


def test_the_new_rules_refuse_what_they_should():
    assert why_different("How to lose weight?", "How can she lose weight?") == "person differs"  # only I/you are generic
    assert why_different("Describe the effects of inflation.", "Explain the causes of inflation.")  # the rest must still match
    assert why_different("Suggest a name for my cat.", "Suggest a name for my dog.")
    assert why_different("How do I say yes to my boss?", "How do I say no to my boss?") == "negation differs"


def test_each_new_rule_can_be_switched_off():
    assert why_different("What is 10 pounds in kilograms?", "What is 10 kilograms in pounds?", Rules(roles=False)) is None
    assert why_different("How do you say thank you in Korean?", "What is thank you in Korean?", Rules(frame_verbs=False))
    assert why_different("How do I sort a list in Python?", "How to sort a list in Python?", Rules(generic_person=False))
