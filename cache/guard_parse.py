"""What the guard (``cache/guard.py``) reads in a prompt: its numbers, small meaning-bearing words, question words,
tense, grammatical person and content words, each content word with its prepositional role and whether it
stands where a classifying noun may ("which city", "capital city")."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from cache.guard_words import (
    CHUNK_EDGES,
    CODE_SYMBOL,
    CONTRACTIONS,
    DETERMINERS,
    FRAME_VERBS,
    FUTURE_AUX,
    IGNORED,
    LOCATIVE,
    NEGATIONS,
    NOT_COUNTED,
    NUMBER_WORDS,
    PARTICLES,
    PAST_AUX,
    PERSON,
    PRO_ONE,
    QUOTED,
    RELATIONS,
    REQUEST_VERBS,
    REWRITES,
    ROLES,
    SCOPE_ENDS,
    STRICT,
    TOKEN,
    VERB_SLOT,
    WH,
)
from cache.lexicon import Lexicon


@dataclass(frozen=True)
class Rules:
    """Which checks apply (all by default); the evaluation turns each off in turn to price it."""

    numbers: bool = True
    literals: bool = True  # quoted texts and code chunks are the same on both sides
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
    classifiers: bool = True  # a question noun may stand for its question word ("what year" / "when", cache/classes.py)
    # "one week" as "a week": off, as "Is there one God?" / "Is there a God?" differ; kept to measure what it would gain
    one_as_a: bool = False
    derived: bool = True  # a noun and the verb or adjective WordNet derives it from (inventor / invent, height / tall)
    structure: bool = True  # no word is a verb's subject on one side and its object on the other (cache/structure.py)
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
    # each content word right after what/which: "what" ("what year") or, after in/at/from, "in what" ("in what place");
    # None elsewhere (cache/classes.py)
    classifier: list[str | None] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)  # the words of each quoted text, lowercase
    code: list[str] = field(default_factory=list)  # the code chunks, sorted
    words: str = ""  # every word, lowercase, one space apart (where a quoted text may stand unquoted)


def number_of(word: str) -> str | None:
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    if word[0].isdigit():
        return re.sub(r"(st|nd|rd|th|s)$", "", word).replace(",", "")
    return None


def parse(text: str, lex: Lexicon, rules: Rules | None = None) -> Parse:
    text = text.replace("\u2019", "'")
    for pattern, replacement in (*CONTRACTIONS, *REWRITES):
        text = pattern.sub(replacement, text)
    out = Parse(words=" ".join(TOKEN.findall(text.lower())))  # before names are joined with "_"
    quotes = list(QUOTED.finditer(text))
    out.quoted = [" ".join(TOKEN.findall(m.group(2).lower())) for m in quotes]
    chunks = text.split()
    # an operator of punctuation alone ("??", "?.", "...") is code too, but not a sentence's last mark
    out.code = sorted(
        c.strip(CHUNK_EDGES) or c
        for i, c in enumerate(chunks)
        if CODE_SYMBOL.search(c.strip(CHUNK_EDGES)) or _operator(c, i == len(chunks) - 1)
    )
    text = _join_collocations(text, lex)
    pending: str | None = None  # a relation word waiting for its object
    previous = ""
    passive = perfect = False  # is/are ... seen in this clause: a participle after it is no tense; has/have/had ...: it is past
    frame_verbs = FRAME_VERBS if rules is None or rules.frame_verbs else REQUEST_VERBS
    role: str | None = None
    asking = counted = False  # "how many X": X is what is asked for (the goal); "in" after it marks the whole
    follows_content = False  # the previous word was a content word: a wh-word after it is a relative pronoun
    asked_by = "what"  # "in what": the wh-noun after it names a place ("In which town did she grow up?")
    tokens = list(TOKEN.finditer(text))
    for k, match in enumerate(tokens):
        following = tokens[k + 1].group().lower() if k + 1 < len(tokens) else None
        raw = match.group()
        word = raw.lower() if raw != "US" else "u.s."  # the country, not "us"
        in_quote = any(q.start() <= match.start() < q.end() for q in quotes)  # "How do you say 'we were late'?": the quote's
        prev, previous = previous, word
        before = text[: match.start()].rstrip(" \"'(")
        starts = not before or before[-1] in ".!?:\n"
        if not before or before[-1] in ".!?:;,\n" or word in WH or word in SCOPE_ENDS:
            role = None
        if not before or before[-1] in ".!?:;,\n":
            passive = perfect = False
        counted = counted and not starts
        if word in ROLES and not (word == "to" and _infinitive(text[match.end() :], lex)):
            role = "whole" if word == "in" and counted else ROLES[word]
        if word in ("many", "much") and prev == "how":
            role, asking = "goal", True
        elif asking:
            counted, asking = counted or word not in SCOPE_ENDS, False
        number = number_of(word) if not (raw == "I") else None
        after_content, follows_content = follows_content, False
        if word == "one" and (rules is None or rules.one_as_a) and _article_one(prev, text[match.end() :], lex):
            continue  # "in one week" / "in a week", "the largest one" / "the largest"
        if number is not None:
            out.numbers.append(number)
        elif word in NEGATIONS:
            out.function["not"] += 1
            continue
        elif word in frame_verbs and (starts or (frame_verbs is FRAME_VERBS and prev in VERB_SLOT)):
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
            # what/which take their sense from the noun after them (what year = when), unless a verb follows (what is ...)
            # after a noun it is a relative pronoun ("people who speak it"), not a question
            if not after_content and (WH[word] != "what" or following in SCOPE_ENDS):
                out.wh.add(WH[word])
            asked_by = f"{prev} what" if prev in LOCATIVE else "what"
            continue
        elif word in PAST_AUX or word in FUTURE_AUX:
            out.past |= word in PAST_AUX and not in_quote
            out.future |= word in FUTURE_AUX and not in_quote and prev not in ("that", "which")  # "code that will sort a list"
            passive, perfect = passive or word in ("was", "were"), perfect or word == "had"
            continue
        elif word in PERSON:
            if not in_quote:
                out.person[PERSON[word]] += 1
            continue
        elif word == "been":  # "has it been" / "is it": the perfect looks back, like the past
            out.past = True
            continue
        elif word in IGNORED:
            passive, perfect = passive or word in ("is", "are", "am", "be", "being"), perfect or word in ("has", "have")
            continue
        else:
            name = (not starts and raw[0].isupper()) or any(c.isupper() for c in raw[1:])
            attributive = prev in DETERMINERS or prev in ROLES or following == "by" or in_quote
            if not name and (perfect or not passive) and not attributive and is_past(word, lex):
                # "What is 144 divided by 12?", "for cooked rice", "a book written by" are no past; "Has Tokyo changed?" looks back
                out.past = True
            out.content.append((word, name))
            out.roles.append(role)
            out.classifier.append(None if name or prev not in ("what", "which") else asked_by)
            follows_content = True
        if pending is not None:
            out.objects.setdefault(pending, []).append(number or word)
            pending = None
    return out


_WORD = re.compile(r"[A-Za-z]+")
CLOSED = IGNORED | STRICT | RELATIONS | NEGATIONS | WH.keys() | PERSON.keys() | NUMBER_WORDS.keys() | PAST_AUX | FUTURE_AUX


def _join_collocations(text: str, lex: Lexicon) -> str:
    """Words WordNet lists as one become one word (spaces to "_", so positions stay): names ("United Kingdom", "United
    States of America") and verbs ("grow up", "turn off", "get rid of"); not noun compounds, which paraphrases split
    ("a prime number" / "Is 7 prime?")."""
    words = list(_WORD.finditer(text))
    chars, i = list(text), 0
    while i < len(words):
        for n in (4, 3, 2):
            span = words[i : i + n]
            if len(span) < n or any(text[x.end() : y.start()] != " " for x, y in zip(span, span[1:], strict=False)):
                continue
            lower = [w.group().lower() for w in span]
            # a name: each of its content words capitalized ("United States of America", not "the capital of Peru", which
            # WordNet lists as Lima); else a verb ("grow up", "get rid of"), not a noun phrase ("speed of light" / "light's speed")
            name = all(w.group()[0].isupper() for w, low in zip(span, lower, strict=True) if low not in CLOSED) and lower[-1] not in CLOSED
            verb = "v" in lex.base_forms("_".join(lower)) and (n > 2 or lower[1] in PARTICLES)
            if lower[0] not in CLOSED and (name or verb) and lex.knows("_".join(lower)):
                for x in span[:-1]:
                    chars[x.end()] = "_"
                i += n - 1
                break
        i += 1
    return "".join(chars)


def _article_one(prev: str, rest: str, lex: Lexicon) -> bool:
    """Whether "one" counts like "a" before a noun ("one week"), or stands for a noun ("the largest one"): not "one plus one"."""
    words = TOKEN.findall(rest.lower())[:1]
    if not words or rest.lstrip()[:1] in tuple(".!?;,"):
        return prev in PRO_ONE or ("a" in lex.base_forms(prev) and prev not in NOT_COUNTED and number_of(prev) is None)
    return words[0] not in NOT_COUNTED and number_of(words[0]) is None and "n" in lex.base_forms(words[0])


def _operator(chunk: str, last: bool) -> bool:
    return not any(ch.isalnum() for ch in chunk) and not (last and len(chunk) == 1)


def _infinitive(rest: str, lex: Lexicon) -> bool:
    """Whether a "to" opens an infinitive: "to sort a list" (a verb, then a determiner or number), not "to a dict"."""
    words = TOKEN.findall(rest.lower())[:2]
    return len(words) == 2 and "v" in lex.base_forms(words[0]) and (words[1] in DETERMINERS or number_of(words[1]) is not None)


def is_past(word: str, lex: Lexicon) -> bool:
    forms = lex.base_forms(word).get("v", ())
    return bool(forms) and word not in forms and (word.endswith("ed") or lex.is_irregular_past(word))
