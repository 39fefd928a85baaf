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
- an adjective matched by its base form keeps its degree (large/larger/largest);
- two words present on both sides may not trade the roles their prepositions give them: "10 pounds
  to kilograms" / "10 kilograms in pounds", "the ratio of boys to girls" / "of girls to boys"
  (to/into/in mark one role, the goal: a rule about direction, not about units); in "how many X
  are in N Y", X is the goal and "in" marks the whole ("How many kilograms is 10 pounds?");
- verbs that only frame a request (list, name, give, tell, say, explain, describe, suggest, convert)
  may be missing on one side where a verb stands, and "How do I ..." matches "How to ...".

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
# Each preposition marks the role of the words after it (until a comma, a clause or another preposition); the
# ones that mark where something goes share one role, so "10 pounds to kilograms" and "10 kilograms in pounds"
# are seen to trade their goal, whatever the unit. Two words on both sides may not exchange a role. What "how
# many/much" asks for is the goal too, and once it is named, "in" marks the whole ("how many X are in 5 Y").
ROLES = {w: "goal" for w in "to into onto in toward towards".split()} | {"from": "source"}
ROLES |= {w: w for w in "of for by with about on at as than per between before after over under against during vs versus".split()}
_SCOPE_ENDS = frozenset("is are am was were be been do does did can could would should will shall may might must".split())
# Verbs that only frame a request ("List three colors." / "Name three colors." / "What are three colors?", "How
# do you say X in French?" / "What is X in French?", "Convert 3 km to miles." / "What is 3 km in miles?"): harmless
# where a verb stands (opening a clause, or after to/you/I/we/please); the other side's own verb must still match.
REQUEST_VERBS = frozenset("list name give tell show share provide state identify find".split())
FRAME_VERBS = REQUEST_VERBS | frozenset("say explain describe suggest convert".split())
_VERB_SLOT = frozenset("to you i we please".split())
WH = {w: w for w in "who when where why how whose".split()} | {"what": "what", "which": "what", "whom": "who"}
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
_IRREGULAR_DEGREE = {w: "er" for w in "better worse more less".split()} | {w: "est" for w in "best worst most least".split()}


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
    roles: bool = True  # two content words on both sides may not exchange their prepositions' roles
    frame_verbs: bool = True  # say/explain/describe/suggest/convert as well as list/name/give..., wherever a verb stands
    generic_person: bool = True  # "How do I ..." / "How to ...": a side without person words may match a first/second person
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
    roles: list[str | None] = field(default_factory=list)  # the role of each content word (None: outside any prepositional phrase)


def _number(word: str) -> str | None:
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if word[0].isdigit():
        return re.sub(r"(st|nd|rd|th|s)$", "", word).replace(",", "")
    return None


def parse(text: str, lex: Lexicon, rules: Rules | None = None) -> Parse:
    text = text.replace("\u2019", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    out = Parse()
    pending: str | None = None  # a relation word waiting for its object
    previous = ""
    after_be_have = False  # a participle after is/was/has is not a past tense of its own
    frame_verbs = FRAME_VERBS if rules is None or rules.frame_verbs else REQUEST_VERBS
    role: str | None = None
    asking = counted = False  # "how many X": X is what is asked for (the goal); "in" after it marks the whole
    for match in _TOKEN.finditer(text):
        raw = match.group()
        word = raw.lower()
        prev, previous = previous, word
        before = text[: match.start()].rstrip(" \"'(")
        starts = not before or before[-1] in ".!?:\n"
        if not before or before[-1] in ".!?:;,\n" or word in WH or word in _SCOPE_ENDS:
            role = None
        counted = counted and not starts
        if word in ROLES and not (word == "to" and _infinitive(text[match.end() :], lex)):
            role = "whole" if word == "in" and counted else ROLES[word]
        if word in ("many", "much") and prev == "how":
            role, asking = "goal", True
        elif asking:
            counted, asking = counted or word not in _SCOPE_ENDS, False
        number = _number(word) if not (raw == "I") else None
        if number is not None:
            out.numbers.append(number)
        elif word in NEGATIONS:
            out.function["not"] += 1
            continue
        elif word in frame_verbs and (starts or (frame_verbs is FRAME_VERBS and prev in _VERB_SLOT)):
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
            out.roles.append(role)
        if pending is not None:
            out.objects.setdefault(pending, []).append(number or word)
            pending = None
        after_be_have = False
    return out


_DETERMINERS = frozenset("a an the my your his her its our their this that these those some any each every all".split())


def _infinitive(rest: str, lex: Lexicon) -> bool:
    """Whether a "to" opens an infinitive: "to sort a list" (a verb, then a determiner or number), not "to a dict"."""
    words = _TOKEN.findall(rest.lower())[:2]
    return len(words) == 2 and "v" in lex.base_forms(words[0]) and (words[1] in _DETERMINERS or _number(words[1]) is not None)


def _role_exchange(a: Parse, b: Parse, lex: Lexicon, rules: Rules) -> str | None:
    """Two words present on both sides that trade a role ("10 pounds to kilograms" / "10 kilograms in pounds").

    Words that trade places within one role are not refused ("Is a whale a fish?" / "Is a fish a whale?"): on the
    development part that cost a tenth of the paraphrases ("the capital city" / "which city is the capital")."""
    for x, role in zip(a.content, a.roles, strict=True):
        if role is None:
            continue
        for y, other in zip(b.content, b.roles, strict=True):
            if other != role or _aligned(x, y, lex, rules):
                continue
            x_in_b = [r for w, r in zip(b.content, b.roles, strict=True) if _aligned(x, w, lex, rules)]
            y_in_a = [r for w, r in zip(a.content, a.roles, strict=True) if _aligned(w, y, lex, rules)]
            if x_in_b and y_in_a and role not in x_in_b and role not in y_in_a:
                return f"{x[0]!r} and {y[0]!r} trade roles"
    return None


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
    a, b = parse(cached, lex, rules), parse(new, lex, rules)
    if rules.numbers and a.numbers != b.numbers:
        return "numbers differ"
    if rules.function_words and a.function != b.function:
        return "negation differs" if a.function["not"] != b.function["not"] else "a function word differs"
    if rules.question_words and a.wh and b.wh and a.wh != b.wh:
        return "the question word differs"
    if rules.tense and (a.past, a.future) != (b.past, b.future):
        return "tense differs"
    if rules.person and set(a.person) != set(b.person):
        generic = rules.generic_person and (not a.person or not b.person) and set(a.person or b.person) == {"1"}
        if not generic:
            return "person differs"
    if rules.names and [w for w, n in a.content if n] != [w for w, n in b.content if n] and len([n for _, n in a.content if n]) > 0:
        if sorted(w for w, n in a.content if n) == sorted(w for w, n in b.content if n):
            return "names in another order"
    word = _unmatched(b.content, a.content, lex, rules) or (_unmatched(a.content, b.content, lex, rules) if rules.both_ways else None)
    if word is not None:
        return f"no match for {word!r}"
    if rules.roles and (reason := _role_exchange(a, b, lex, rules)):
        return reason
    if rules.relations:
        for relation in a.objects.keys() & b.objects.keys():
            pairs = zip(a.objects[relation], b.objects[relation], strict=False)
            if any(x != y and not _aligned((x, False), (y, False), lex, rules) for x, y in pairs):
                return f"what follows {relation!r} differs"
    return None
