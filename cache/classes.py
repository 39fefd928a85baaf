"""Nouns that only name the class of an answer or of another word: "which city is the capital", "what year" / "when".

A paraphrase often adds such a noun: "What is the capital city of France?", "Which city is the capital
of France?", "What food do cats eat?", "In what year was Darwin born?" / "When was Darwin born?". The
guard lets it be missing on the other side only in the two places where a noun classifies (the noun
after "what"/"which", and a noun right after another content word, the head of "capital city") and
only when WordNet says it restates what is already there:

- the noun after "what"/"which" names a time, a person, or after "in/at/from" a place: the question is
  the one "when" / "who" / "where" asks (``WH_CLASSES``: four WordNet synsets, the classes English asks
  for with its own question word; a place needs the preposition, as "Where is the capital?" asks where a
  city lies, not which city it is);
- or the noun is a hypernym of one of the sentence's other content words (a capital is a seat of
  government), or a word of the definition of one of their senses or of those senses' hypernyms
  ("eat": "take in solid food"; "seat": "a center of authority (as a city from which ...)").

Any other extra noun is still a changed content word ("What is the boiling point of salt water?").
"""

from __future__ import annotations

import functools

from cache.lexicon import Lexicon

SENSES = 3  # senses of each word looked at: "capital" as a seat of government is WordNet's third
ANCESTORS = 12  # levels of hypernyms walked (WordNet 3.0's noun hierarchy is at most 19 deep)
# The question word a class of nouns stands for, by a lemma of the class's top synset (sense 1); a place only after a
# preposition ("In which town did she grow up?" / "Where did she grow up?").
WH_CLASSES = {"when": ("time_period", "time_unit"), "who": ("person",), "where": ("location",)}


@functools.cache
def _class_roots(lex: Lexicon) -> dict[str, frozenset[int]]:
    return {wh: frozenset(lex.offsets(lemma, "n", 1)[0] for lemma in lemmas) for wh, lemmas in WH_CLASSES.items()}


def _ancestors(lex: Lexicon, pos: str, offsets: tuple[int, ...]) -> set[int]:
    seen, frontier = set(offsets), list(offsets)
    for _ in range(ANCESTORS):
        frontier = [h for offset in frontier for h in lex.synset(pos, offset)[0] if h not in seen]
        if not frontier:
            break
        seen.update(frontier)
    return seen


def wh_class(noun: str, lex: Lexicon, place: bool = False) -> str | None:
    """The question word a noun's class stands for: "when" (year, day, century), "who" (author, scientist) or, if
    ``place``, "where" (town, country); else None."""
    senses = lex.offsets(noun, "n", SENSES)
    if not senses:
        return None
    ancestors = _ancestors(lex, "n", senses[:2])  # its two most frequent senses only: "date" is a day, not a fruit
    return next((wh for wh, roots in _class_roots(lex).items() if ancestors & roots and (place or wh != "where")), None)


def restates(noun: str, word: str, lex: Lexicon) -> bool:
    """Whether ``noun`` only names a class ``word`` belongs to, by WordNet's hypernyms and definitions."""
    nouns = set(lex.offsets(noun, "n", SENSES))
    if not nouns:
        return False
    bases = set(lex.base_forms(noun).get("n", ()))
    for pos in ("n", "v"):
        senses = lex.offsets(word, pos, SENSES)
        if pos == "n" and nouns & _ancestors(lex, "n", senses):
            return True
        for offset in senses:
            hypernyms, gloss, _ = lex.synset(pos, offset)
            if bases & gloss or any(bases & lex.synset(pos, h)[1] for h in hypernyms):
                return True
    return False


def places(verb: str, lex: Lexicon) -> bool:
    """Whether a verb only says where something is ("located", "situated"): a sense's definition names a place."""
    return any(
        wh_class(word, lex, place=True) == "where" for offset in lex.offsets(verb, "v", SENSES) for word in lex.synset("v", offset)[1]
    )
