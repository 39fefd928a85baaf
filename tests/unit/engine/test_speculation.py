"""Prompt-lookup drafting: pure token arithmetic."""

from app.engine.prompt_lookup import accepted_length, propose


def test_proposes_what_followed_the_latest_earlier_match_of_the_longest_suffix():
    #             the cat sat on the mat . the cat
    tokens = [1, 2, 3, 4, 1, 5, 6, 1, 2]
    assert propose(tokens, num_draft=3) == [3, 4, 1]  # "1 2" matched at the start
    assert propose([7, 8, 9], num_draft=3) == []  # nothing repeats
    assert propose([1, 2, 1], num_draft=2, max_ngram=3) == [2, 1]  # falls back to shorter n-grams
    assert propose([5, 5, 5, 5], num_draft=2) == [5]  # the latest earlier match
    assert propose(tokens, num_draft=0) == []


def test_accepted_length_is_the_agreeing_prefix():
    assert accepted_length([3, 4, 1], [3, 4, 9, 7]) == 2
    assert accepted_length([3, 4], [3, 4, 5]) == 2
    assert accepted_length([3], [8, 1]) == 0
