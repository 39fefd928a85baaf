"""Is a semantically close cached prompt really the same question? Pure Python.

Sentence embeddings put "capital of France" and "capital of Germany", "is X safe"
and "is X unsafe", "5 km to miles" and "5 miles to km" close together: the false
hits that the field's semantic caches are known for. A cosine threshold alone
cannot separate them from true paraphrases (on our pair set the closest near miss
scores 0.997, the farthest paraphrase 0.81), so a candidate must also pass these
lexical checks, written by hand because no maintained library does this cheaply
(an NLI cross-encoder would, at ~50x the embedding's cost):

- the same numbers (digits, number words and ordinals, as values);
- the same count of negations (not, no, never, without, n't, ...);
- not a one-word swap: when the content words differ by exactly one word
  replaced by another (not a form of the same word), that word is what the
  question is about;
- no name replaced by another (capitalized words not opening a sentence);
- the same object after a direction word (to/into, from, than, vs) both use.

They refuse some true paraphrases ("a poem about the sea/ocean"): the cache
prefers a miss, which costs a generation, to a wrong answer.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_NEGATIONS = frozenset("not no never none nothing nobody nowhere neither nor without cannot".split())
_STOPWORDS = frozenset(
    """a an the is are was were be been being am do does did doing have has had i you me my your we our us he she
    it its they them their this that these those there here what which who whom whose how why when where whats
    can could should would will shall may might must please tell give show let s t d ll re ve m of in at by for
    with about as and or but if so than then to into from up out over under again also just really exactly
    some any each every all both very much many more most kind sort type way ok okay hi hello using use""".split()
)
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
} | {
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
    "hundred": "100",
    "thousand": "1000",
    "million": "1000000",
    "billion": "1000000000",
    "dozen": "12",
    "half": "0.5",
}
_ORDINALS = {word: f"#{n}" for n, word in enumerate("zeroth first second third fourth fifth sixth seventh eighth ninth tenth".split())}
_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "xi": "11", "xii": "12"}
_DIRECTIONS = {"to": "to", "into": "to", "from": "from", "than": "than", "vs": "vs", "versus": "vs"}


@dataclass(frozen=True)
class Signature:
    numbers: Counter
    negations: int
    content: Counter  # content words, lightly stemmed
    names: frozenset[str]  # capitalized words not opening a sentence: names of things
    directions: dict[str, frozenset[str]]  # direction word -> the content words right after it


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def signature(text: str) -> Signature:
    names = frozenset(m.lower() for m in re.findall(r"(?<![.!?]\s)(?<!^)\b[A-Z][A-Za-z]+", text.strip()) if m.lower() not in _STOPWORDS)
    lowered = text.lower().replace("\u2019", "'")
    negations = len(re.findall(r"n't\b", lowered))
    numbers: Counter = Counter()
    content: Counter = Counter()
    directions: dict[str, set[str]] = {}
    pending: str | None = None  # a direction word waiting for its object
    for word in _WORD.findall(lowered):
        if word in _NEGATIONS:
            negations += 1
            continue
        number = _NUMBER_WORDS.get(word) or _ORDINALS.get(word) or _ROMAN.get(word)
        if number is None and word[0].isdigit():
            number = word.rstrip("stndrh") or word  # 1st, 2nd, 3rd, 4th -> the value
        if number is not None:
            numbers[number] += 1
            word = number
        elif word in _DIRECTIONS:
            pending = _DIRECTIONS[word]
            continue
        elif word in _STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        else:
            word = _stem(word)
            content[word] += 1
        if pending is not None:
            directions.setdefault(pending, set()).add(word)
            pending = None
    return Signature(numbers, negations, content, names, {k: frozenset(v) for k, v in directions.items()})


def _variants(a: str, b: str) -> bool:
    """Forms of one word (summarize/summary, painted/painter), not two words."""
    common = len(os.path.commonprefix([a, b]))
    return common >= 5 or common == min(len(a), len(b)) >= 4


def why_different(a: str, b: str) -> str | None:
    """None when ``b`` may reuse ``a``'s answer as far as these checks can tell, else the reason it may not."""
    sa, sb = signature(a), signature(b)
    if sa.numbers != sb.numbers:
        return "numbers differ"
    if sa.negations != sb.negations:
        return "negation differs"
    if sa.names - sb.names and sb.names - sa.names:
        return "a name differs"
    removed, added = sa.content - sb.content, sb.content - sa.content
    if sum(removed.values()) == 1 and sum(added.values()) == 1 and not _variants(next(iter(removed)), next(iter(added))):
        return "one word is swapped for another"
    for direction in sa.directions.keys() & sb.directions.keys():
        if sa.directions[direction] != sb.directions[direction]:
            return f"what comes after {direction!r} differs"
    return None
