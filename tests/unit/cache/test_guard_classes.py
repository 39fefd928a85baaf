"""The guard's question nouns, derivations, quotes and code, tense by clause and names (issue 18): pure logic over
WordNet, no model, no Redis. The refusals include near misses an adversarial review found in wider rules."""

from __future__ import annotations

import pytest

from cache.guard import Rules, why_different


@pytest.mark.parametrize(
    ("cached", "new"),
    [
        ("When was Ada Lovelace born?", "In what year was Ada Lovelace born?"),  # "what year" asks what "when" asks
        ("When does the museum open?", "What time does the museum open?"),
        ("Where was Chopin born?", "In what place was Chopin born?"),
        ("What is 144 divided by 12?", "Divide 144 by 12."),  # a participle after "is" is no past tense
        ("In 1940, who was the UK prime minister?", "Who was the prime minister of the United Kingdom in 1940?"),
        ("What is 15 percent of 80?", "What's 15% of 80?"),
        ("How many people speak Swahili?", "What is the number of people who speak Swahili?"),  # "who" after a noun: no question
        ("How tall is Mount Fuji?", "What is the height of Mount Fuji?"),  # WordNet derives tallness from tall
        ("How far is Mars from Earth?", "What is the distance from Earth to Mars?"),
        ("Explain how blockchains work.", "Explain how a blockchain works."),  # unknown to WordNet: a plural s only
        ("Is 91 a prime number?", "Is 91 prime?"),  # a numeral is a number
        ("What number is 7 times 8?", "What is 7 times 8?"),
        ("How do I merge a dict in Python?", "What's the way to merge a dict in Python?"),
        ("What language do people speak in Sweden?", "Which language is spoken in Sweden?"),  # no one in particular
        ("How did fashion change in the 1920s?", "How did fashion change during the 1920s?"),
        ("Translate 'good night' from English into German.", "Translate 'good night' from English to German."),
        ("How much sleep does a child need each night?", "How much sleep does a child need per night?"),
    ],
)
def test_rewordings_of_a_question_word_a_form_or_a_spelling_are_hits(cached, new):
    assert why_different(cached, new) is None
    assert why_different(new, cached) is None


@pytest.mark.parametrize(
    ("cached", "new"),
    [
        ("What year did the war end?", "What day did the war end?"),
        ("What is the sky?", "What color is the sky?"),
        ("Can someone hack my phone?", "Can I hack my phone?"),  # "someone" only for a passive without a doer
        ("How do I get into Harvard?", "How do I get to Harvard?"),  # "into" as "to" only after translate / convert
        ("How many times per day should I feed my puppy?", "How many times should I feed each puppy?"),
        ("What is Easter?", "When is Easter?"),  # a bare "what" is a question word of its own
        ("What is the capital of France?", "Where is the capital of France?"),
        ("At what age did Mozart die?", "When did Mozart die?"),  # review: not every time noun is "when"
        ("Which woman won the Nobel Prize twice?", "Who won the Nobel Prize twice?"),  # nor every person noun "who"
        ("In which position does Messi play?", "Where does Messi play?"),
        ("Which planet is closest to Earth?", "What is closest to Earth?"),  # nor a noun in another word's definition
        ("How big does an apple tree get?", "How big does an apple get?"),
        ("Where was the Mona Lisa painted?", "Where was the Mona Lisa?"),
        ("Who did Socrates teach?", "Who was Socrates' teacher?"),  # a verb and its agent noun ask in opposite directions
        ("Who wrote Spider-Man?", "Who is the author of Spider-Man?"),  # an ongoing work's author may change
        ("Is the company profitable?", "Has the company been profitable?"),  # the perfect looks back
        ("Has Tokyo changed?", "Is Tokyo changing?"),
        ("Is the Pope retired?", "Is the Pope retiring?"),  # done, or under way
        ("Which country had the largest population?", "Which country has the largest population?"),
        ("Is there one God?", "Is there a God?"),  # "one" counts
        ("Who was the first president?", "Who was the president?"),
        ("When was the World Cup first held in the US?", "When was the World Cup held in the US?"),
        ("What happened during the war?", "What happened after the war?"),
        ("Who was president during Vietnam?", "Who was president in Vietnam?"),
        ("How many integers are there from 1 to 100?", "How many integers are there between 1 and 100?"),  # ends counted
        ("How do I get into Harvard?", "How do I get to Harvard?"),
        ("How many miles per gallon does a Prius get?", "How many gallons per mile does a Prius get?"),
        ("How do I pay with PayPal?", "How do I pay PayPal?"),
        ("Is milk mainly water?", "Is milk water?"),
        ("Do any mammals lay eggs?", "Do mammals lay eggs?"),
        ("What is the main ingredient in hummus?", "What are the ingredients in hummus?"),
        ("Can someone see my location on iPhone?", "Can I see my location on iPhone?"),
        ("Who won the US Open in 2023?", "Who won the Open in 2023?"),  # "US" is the country, not "us"
        ("How do I turn off the lights?", "How do I turn on the lights?"),
        ("How tall is Mount Fuji?", "How short is Mount Fuji?"),  # both name the height, but not each other
    ],
)
def test_a_changed_question_tense_count_or_relation_is_still_refused(cached, new):
    assert why_different(cached, new)
    assert why_different(new, cached)


@pytest.mark.parametrize(
    ("cached", "new"),
    [
        ("Translate 'we are tired' into German.", "Translate 'I am tired' into German."),  # a quoted text is what is asked about
        ("we are tired in german", "I am tired in german"),  # "we" is several
        ("What does 'xyz'[::-1] give in Python?", "What does 'xyz'[1:] give in Python?"),  # code, symbol for symbol
        ("What does 'xyz'[-1] give in Python?", "What does 'xyz'[1] give in Python?"),
        ("What does x += 1 do?", "What does x -= 1 do?"),
        ("What does the ?? operator do in JavaScript?", "What does the ?. operator do in JavaScript?"),  # punctuation alone
        ("Convert ¥500 to USD.", "Convert ₹500 to USD."),
    ],
)
def test_quoted_text_code_and_currency_must_be_the_same(cached, new):
    assert why_different(cached, new)
    assert why_different(new, cached)


@pytest.mark.parametrize(
    ("cached", "new"),
    [
        ("How do you say 'good night' in Greek?", "What is 'good night' in Greek?"),
        ("How do you say 'good night' in Greek?", "good night in greek"),  # quoting is optional
        ("What does 'xyz'[::-1] give in Python?", "In Python, what does 'xyz'[::-1] give?"),
        ("Plan a 3-day trip to Oslo.", "Plan a 3-day trip to Oslo, please."),  # a hyphen inside a word is no code
    ],
)
def test_the_same_quote_or_code_in_other_words_is_a_hit(cached, new):
    assert why_different(cached, new) is None
    assert why_different(new, cached) is None


def test_question_nouns_and_one_can_be_switched():
    assert why_different("When was Ada Lovelace born?", "In what year was Ada Lovelace born?", Rules(classifiers=False))
    assert why_different("How many days are in a week?", "How many days are in one week?")  # "one" counts by default
    assert why_different("How many days are in a week?", "How many days are in one week?", Rules(one_as_a=True)) is None


def test_the_adversarial_reviews_near_misses_stay_refused():
    """592 near misses written to break the rules: the guard alone refuses 553 since the parse's checks (cache/structure.py;
    475 before; the rest are left to the embedding, and 14 pass it too: docs/BENCHMARKS_LOG.md). A rule that lets more
    through must say so here."""
    from loadtest.inprocess.cache_eval import read_sets

    rows = read_sets()["adversarial"]
    assert len(rows) == 592
    assert sum(why_different(r["a"], r["b"]) is not None for r in rows) >= 553
