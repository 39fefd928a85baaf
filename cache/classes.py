"""Nouns that only name what a question word asks for: "what year" / "when", "which person" / "who".

A paraphrase often asks with such a noun where the other side has the question word itself: "In
what year was Darwin born?" / "When was Darwin born?", "What time does the museum open?" / "When
does the museum open?". The guard lets the noun be missing there only for the nouns that mean no
more than the question word does (``WH_NOUNS``, with their plurals and WordNet synonyms in their
first sense). A review of wider classes (every time, person or place noun by WordNet's hypernyms,
nouns found in a word's definition) found them unsafe: "At what age did Mozart die?" is no "When",
"Which woman won the Nobel Prize twice?" no "Who", "In which position does Messi play?" no "Where",
"Which planet is closest to Earth?" no "What is closest to Earth?".
"""

from __future__ import annotations

import functools

from cache.lexicon import Lexicon

# The question word each noun stands for after "what"/"which"; a place only after in/at/from ("In what place was she
# born?" / "Where was she born?"), as "What place is it?" asks for a name.
WH_NOUNS = {"when": ("year", "date", "time"), "who": ("person",), "where": ("place", "location")}


@functools.cache
def _senses(lex: Lexicon) -> dict[str, frozenset[tuple[str, int]]]:
    return {wh: frozenset(("n", lex.offsets(noun, "n", 1)[0]) for noun in nouns) for wh, nouns in WH_NOUNS.items()}


def wh_class(noun: str, lex: Lexicon, place: bool = False) -> str | None:
    """The question word ``noun`` stands for ("year": "when", "person": "who", "place": "where" if ``place``), or None."""
    senses = lex.senses(noun, 1)
    return next((wh for wh, targets in _senses(lex).items() if senses & targets and (place or wh != "where")), None)
