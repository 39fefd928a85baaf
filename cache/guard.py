"""Is a semantically close cached prompt really the same question? A word alignment, conservative by construction.

Sentence embeddings put "capital of France" and "capital of Germany", "primary" and "secondary
colors", "5 km to miles" and "5 miles to km" close together: a cosine threshold alone cannot keep
such near misses out. So a semantic candidate must also align word for word with the new prompt:

- every content word on each side is matched by a word on the other side that is a form of the
  same word or shares one of its most frequent WordNet senses (``cache/lexicon.py``); a word the
  lexicon does not know, or a name, matches only itself. Any changed content word refuses the hit;
- the meaning-bearing small words must be the same on both sides: numbers (digits and number
  words, in order), negations, quantifiers, comparison and direction words (than, before, with, ...)
  and what follows each of them, question words, tense (was/will/wrote) and grammatical person;
- an adjective matched by its base form keeps its degree (large/larger/largest).

Nothing here lists the near misses themselves: whatever is not known to be a harmless word must be
matched. The word classes below are closed sets of English function words, written by hand because
no packaged stopword list separates "the" (harmless) from "not", "after" or "most" (meaning).
The cost is recall: a paraphrase that adds or drops a content word ("capital" / "capital city")
misses. ``Rules`` switches each check off one at a time, to measure what each costs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from cache.lexicon import Lexicon, lexicon

_TOKEN = re.compile(r"[A-Za-z]+|\d+(?:[.,]\d+)*(?:st|nd|rd|th|s)?")
_CONTRACTIONS = ((re.compile(r"\bwon't\b", re.I), "will not"), (re.compile(r"\bcan't\b", re.I), "can not"), (re.compile(r"n't\b"), " not"),
                 (re.compile(r"'ll\b"), " will"), (re.compile(r"'(?:s|re|ve|d|m)\b"), ""))  # fmt: skip
# Words that never change what is asked (articles, auxiliaries, politeness, the request frame).
IGNORED = frozenset(
    """a an the is are am be been being do does can could would may might please kindly me us tell give show let know want
    wonder like help have has it its this that these those there here so just really exactly also very of in on at by for about as and
    thanks thank hey hi i'd""".split()
)
NEGATIONS = frozenset("not no never none nothing nobody nowhere neither nor without cannot".split())
# Closed classes that carry meaning: they must occur as often on both sides.
STRICT = frozenset(
    """all some any every each most many few several both either only more less fewer least much enough or than before after
    between above below over under with against per vs versus until since during inside outside""".split()
)
RELATIONS = frozenset("to into from onto than before after between above below over under with against per vs versus".split())
# Opening a request, these only frame it ("List three colors." / "Name three colors." / "What are three colors?").
REQUEST_VERBS = frozenset("list name give tell show share provide state identify find".split())
WH = {
    "what": "what",
    "which": "what",
    "who": "who",
    "whom": "who",
    "whose": "whose",
    "when": "when",
    "where": "where",
    "why": "why",
    "how": "how",
}
PAST_AUX, FUTURE_AUX = frozenset("was were did had".split()), frozenset("will shall".split())
PERSON = {w: "1" for w in "i my mine myself we our ours ourselves".split()}
PERSON |= {w: "1" for w in "you your yours yourself yourselves".split()}
PERSON |= {w: "3" for w in "he him his himself she her hers herself they them their theirs themselves".split()}
_NUMBER_WORDS = {w: str(n) for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                                                 "fifteen sixteen seventeen eighteen nineteen twenty".split())}  # fmt: skip
_NUMBER_WORDS |= {w: str(10 * n) for n, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), start=3)}
_NUMBER_WORDS |= {"hundred": "100", "thousand": "1000", "million": "1e6", "billion": "1e9", "dozen": "12", "half": "0.5", "twice": "x2"}
_NUMBER_WORDS |= {w: f"#{n}" for n, w in enumerate("zeroth first second third fourth fifth sixth seventh eighth ninth tenth".split())}
_NUMBER_WORDS |= {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "xi": "11", "xii": "12"}
_IRREGULAR_DEGREE = {
    "better": "er",
    "worse": "er",
    "best": "est",
    "worst": "est",
    "more": "er",
    "less": "er",
    "most": "est",
    "least": "est",
}


@dataclass(frozen=True)
class Rules:
    """Which checks apply (all by default); the evaluation turns each off in turn to price it."""

    numbers: bool = True
    function_words: bool = True  # negations and the STRICT classes
    relations: bool = True  # what follows to/from/than/before/... aligns
    question_words: bool = True
    tense: bool = True
    person: bool = True
    names: bool = True  # a name matches only itself, and names keep their order
    degree: bool = True
    both_ways: bool = True  # the cached prompt's content words must be matched too (not only the new one's)
    sense_depth: int = 2  # WordNet senses of each word that may make two words synonyms; 0: no synonyms


@dataclass
class Parse:
    numbers: list[str] = field(default_factory=list)
    function: Counter = field(default_factory=Counter)
    wh: set[str] = field(default_factory=set)
    past: bool = False
    future: bool = False
    person: Counter = field(default_factory=Counter)
    content: list[tuple[str, bool]] = field(default_factory=list)  # (word, is a name)
    objects: dict[str, list[str]] = field(default_factory=dict)  # relation word -> the words right after it


def _number(word: str) -> str | None:
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if word[0].isdigit():
        return re.sub(r"(st|nd|rd|th|s)$", "", word).replace(",", "")
    return None


def parse(text: str, lex: Lexicon) -> Parse:
    text = text.replace("\u2019", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    out = Parse()
    pending: str | None = None  # a relation word waiting for its object
    previous = ""
    after_be_have = False  # a participle after is/was/has is not a past tense of its own
    for match in _TOKEN.finditer(text):
        raw = match.group()
        word = raw.lower()
        prev, previous = previous, word
        before = text[: match.start()].rstrip(" \"'(")
        starts = not before or before[-1] in ".!?:\n"
        number = _number(word) if not (raw == "I") else None
        if number is not None:
            out.numbers.append(number)
        elif word in NEGATIONS:
            out.function["not"] += 1
            continue
        elif starts and word in REQUEST_VERBS:
            continue
        elif word in RELATIONS or word in STRICT:
            if word in ("many", "much") and prev == "how":  # "how many": the question, not a quantifier
                continue
            if word != "to":  # also the infinitive's "to": only what follows it is compared
                out.function[word] += 1
            if word in RELATIONS:
                pending = word
            continue
        elif word in WH:
            if WH[word] != "what":  # what/which take their sense from the noun after them (what year = when)
                out.wh.add(WH[word])
            continue
        elif word in PAST_AUX or word in FUTURE_AUX:
            out.past |= word in PAST_AUX and word != "had"
            out.future |= word in FUTURE_AUX
            after_be_have = word in ("was", "were", "had")
            continue
        elif word in PERSON:
            out.person[PERSON[word]] += 1
            continue
        elif word in IGNORED:
            after_be_have = after_be_have or word in ("is", "are", "am", "be", "been", "being", "has", "have")
            continue
        else:
            name = (not starts and raw[0].isupper()) or any(c.isupper() for c in raw[1:])
            if not name and not after_be_have and _is_past(word, lex):
                out.past = True
            out.content.append((word, name))
        if pending is not None:
            out.objects.setdefault(pending, []).append(number or word)
            pending = None
        after_be_have = False
    return out


def _is_past(word: str, lex: Lexicon) -> bool:
    forms = lex.base_forms(word).get("v", ())
    return bool(forms) and word not in forms and (word.endswith("ed") or lex.is_irregular_past(word))


def _degree(word: str, lex: Lexicon) -> str:
    if word in _IRREGULAR_DEGREE:
        return _IRREGULAR_DEGREE[word]
    adjective = lex.base_forms(word).get("a", ())
    if adjective and word not in adjective:
        return "est" if word.endswith("est") else "er" if word.endswith("er") else ""
    return ""


def _aligned(a: tuple[str, bool], b: tuple[str, bool], lex: Lexicon, rules: Rules) -> bool:
    (wa, name_a), (wb, name_b) = a, b
    if wa == wb:
        return True
    if rules.names and (name_a or name_b):
        return False
    if rules.degree and _degree(wa, lex) != _degree(wb, lex):
        return False
    forms_a, forms_b = lex.base_forms(wa), lex.base_forms(wb)
    if any(set(forms_a[pos]) & set(forms_b.get(pos, ())) for pos in forms_a):
        return True
    return rules.sense_depth > 0 and bool(lex.senses(wa, rules.sense_depth) & lex.senses(wb, rules.sense_depth))


def _unmatched(words: list[tuple[str, bool]], others: list[tuple[str, bool]], lex: Lexicon, rules: Rules) -> str | None:
    for word in words:
        if not any(_aligned(word, other, lex, rules) for other in others):
            return word[0]
    return None


def why_different(cached: str, new: str, rules: Rules = Rules(), lex: Lexicon | None = None) -> str | None:
    """None when ``new`` may reuse ``cached``'s answer as far as the alignment can tell, else why not."""
    if cached == new:
        return None
    lex = lex or lexicon()
    a, b = parse(cached, lex), parse(new, lex)
    if rules.numbers and a.numbers != b.numbers:
        return "numbers differ"
    if rules.function_words and a.function != b.function:
        return "negation differs" if a.function["not"] != b.function["not"] else "a function word differs"
    if rules.question_words and a.wh and b.wh and a.wh != b.wh:
        return "the question word differs"
    if rules.tense and (a.past, a.future) != (b.past, b.future):
        return "tense differs"
    if rules.person and set(a.person) != set(b.person):
        return "person differs"
    if rules.names and [w for w, n in a.content if n] != [w for w, n in b.content if n] and len([n for _, n in a.content if n]) > 0:
        if sorted(w for w, n in a.content if n) == sorted(w for w, n in b.content if n):
            return "names in another order"
    word = _unmatched(b.content, a.content, lex, rules) or (_unmatched(a.content, b.content, lex, rules) if rules.both_ways else None)
    if word is not None:
        return f"no match for {word!r}"
    if rules.relations:
        for relation in a.objects.keys() & b.objects.keys():
            pairs = zip(a.objects[relation], b.objects[relation], strict=False)
            if any(x != y and not _aligned((x, False), (y, False), lex, rules) for x, y in pairs):
                return f"what follows {relation!r} differs"
    return None
