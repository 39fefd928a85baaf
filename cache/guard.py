"""Is a semantically close cached prompt really the same question? A word alignment, conservative by construction.

Sentence embeddings put "capital of France" and "capital of Germany", "primary" and "secondary
colors", "5 km to miles" and "5 miles to km" close together: a cosine threshold alone cannot keep
such near misses out. So a semantic candidate must also align word for word with the new prompt:

- every content word on each side is matched by a word on the other side that is a form of the
  same word, shares one of its most frequent WordNet senses (``cache/lexicon.py``), or is the noun
  or adjective WordNet derives it from (tall / height, far / distance; not a verb: "Who did Socrates
  teach?" / "Who was Socrates' teacher?"); a name matches itself or another name of the same thing
  (UK / United Kingdom), a word WordNet does not know only itself (less a plural "s"). Any changed
  content word refuses the hit;
- a question noun may stand for its question word (``cache/classes.py``): "what year" / "when",
  "what time" / "when", "which person" / "who", "in what place" / "where", and no other noun;
- quoted texts must be found on the other side, code chunks must be the same symbol for symbol;
- the meaning-bearing small words must be the same on both sides: numbers (digits and number
  words, in order), negations, quantifiers, comparison and direction words (than, before, ...)
  and what follows each of them, question words, tense (was/had/will/wrote, by clause: a participle
  after "is" or a preposition is none; "retired" / "retiring" differ) and grammatical person ("How
  do I" / "How do you" alike, "we" apart);
- an adjective matched by its base form keeps its degree (large/larger/largest);
- two words present on both sides may not trade the roles their prepositions give them: "10 pounds
  to kilograms" / "10 kilograms in pounds", "the ratio of boys to girls" / "of girls to boys"
  (to/into/in mark one role, the goal: a rule about direction, not about units); in "how many X
  are in N Y", X is the goal and "in" marks the whole ("How many kilograms is 10 pounds?");
- verbs that only frame a request (list, name, give, tell, say, explain, describe, suggest, convert)
  may be missing on one side where a verb stands, and "How do I ..." matches "How to ...".

Nothing here lists the near misses themselves: whatever is not known to be a harmless word must be
matched. The word classes (``cache/guard_words.py``) are closed sets of English function words,
written by hand because no packaged stopword list separates "the" (harmless) from "not", "after"
or "most" (meaning). The cost is recall: a paraphrase that adds or swaps a content word WordNet
does not relate misses. ``Rules`` switches each check off one at a time, to measure what each costs.
"""

from __future__ import annotations

import re
from dataclasses import replace

from cache.classes import wh_class
from cache.guard_parse import CLOSED, Parse, Rules, is_past, parse
from cache.guard_words import IRREGULAR_DEGREE
from cache.lexicon import Lexicon, lexicon
from cache.structure_diff import generic_doer, why_structure_differs

GENERIC_DOERS = frozenset("people someone somebody anyone anybody".split())  # no one in particular
NUMBER_OF = re.compile(r"\bnumbers? of\b")


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


def _degree(word: str, lex: Lexicon) -> str:
    if word in IRREGULAR_DEGREE:
        return IRREGULAR_DEGREE[word]
    adjective = lex.base_forms(word).get("a", ())
    if adjective and word not in adjective:
        return "est" if word.endswith("est") else "er" if word.endswith("er") else ""
    return ""


def _aligned(a: tuple[str, bool], b: tuple[str, bool], lex: Lexicon, rules: Rules) -> bool:
    (wa, name_a), (wb, name_b) = a, b
    if wa == wb:
        return True
    if rules.names and (name_a or name_b):  # a name matches itself, or another name of the same thing (UK / Britain)
        return name_a and name_b and bool(lex.senses(wa, 2) & lex.senses(wb, 2))
    if rules.degree and _degree(wa, lex) != _degree(wb, lex):
        return False
    if rules.tense and wa.endswith("ing") != wb.endswith("ing") and (is_past(wa, lex) or is_past(wb, lex)):
        return False  # "Is the Pope retired?" / "Is the Pope retiring?": done, or under way
    forms_a, forms_b = lex.base_forms(wa), lex.base_forms(wb)
    if not forms_a and not forms_b:  # two words WordNet does not know: a plural "s" only ("blockchains" / "blockchain")
        return wa.removesuffix("s") == wb.removesuffix("s")
    if any(set(forms_a[pos]) & set(forms_b.get(pos, ())) for pos in forms_a):
        return True
    depth = rules.sense_depth
    if depth > 0 and lex.senses(wa, depth) & lex.senses(wb, depth):
        return True
    # "How tall is it?" / "What is its height?": WordNet's derivations between nouns and adjectives; not a gerund, which
    # names the activity ("What is running?" / "What is a runner?")
    if not rules.derived or depth == 0 or wa.endswith("ing") or wb.endswith("ing"):
        return False
    return bool(lex.senses(wa, depth) & lex.related(wb, depth) or lex.related(wa, depth) & lex.senses(wb, depth))


def _without(side: Parse, drop: set[int]) -> Parse:
    """``side`` without the content words at ``drop`` (and their roles and classifier marks)."""
    if not drop:
        return side
    keep = [i for i in range(len(side.content)) if i not in drop]
    return replace(side, content=[side.content[i] for i in keep], roles=[side.roles[i] for i in keep],
                   classifier=[side.classifier[i] for i in keep])  # fmt: skip


def _without_classifiers(side: Parse, other: Parse, lex: Lexicon, rules: Rules) -> Parse:
    """``side`` without a question noun the ``other`` side asks with its question word ("what year" / "when": cache/classes.py)."""
    drop: set[int] = set()
    wh = set(side.wh)
    for i, (word, _) in enumerate(side.content):
        if not side.classifier[i] or any(_aligned(side.content[i], w, lex, rules) for w in other.content):
            continue
        asks = wh_class(word, lex, place=side.classifier[i] != "what")
        if asks is not None and asks in other.wh and not wh:
            drop.add(i)
            wh.add(asks)  # "What year was he born?" asks what "When was he born?" asks
    return replace(_without(side, drop), wh=wh) if drop else side  # the same object when nothing goes (why_different)


def may_go_unmatched(word: str, side: Parse, lex: Lexicon) -> bool:
    """A content word of ``side`` the guard may leave without a match (so cache/word_filter.py needs no key for it):
    "people" doing what the other side says in the passive, "number" beside a numeral."""
    return word in GENERIC_DOERS or _number_noun(word, side, lex)


def _number_noun(word: str, side: Parse, lex: Lexicon) -> bool:
    return bool(side.numbers) and "number" in lex.base_forms(word).get("n", ()) and not NUMBER_OF.search(side.words)


def _without_number_noun(side: Parse, other: Parse, lex: Lexicon) -> Parse:
    """``side`` without the noun "number" beside its own numbers ("Is 91 a prime number?" / "Is 91 prime?", "the number 7"):
    a numeral is a number. Not "the number of", a count ("how many": guard_words.REWRITES), nor when ``other`` says it too."""
    if any("number" in lex.base_forms(w).get("n", ()) for w, _ in other.content):
        return side
    return _without(side, {i for i, (w, name) in enumerate(side.content) if not name and _number_noun(w, side, lex)})


def _same_question(a: Parse, b: Parse, lex: Lexicon) -> bool:
    """ "What is 5 km in miles?" / "How many miles is 5 km?"; "What is the date of the vote?" / "When is the date of the vote?"."""
    if not a.wh or not b.wh or a.wh == b.wh or a.wh | b.wh <= {"what", "how"}:
        return True
    return any(
        x.wh == {"what"} and len(y.wh) == 1 and any(not n and wh_class(w, lex) in y.wh for w, n in x.content) for x, y in ((a, b), (b, a))
    )


def _names_swapped(a: Parse, b: Parse) -> bool:
    """Names outside any prepositional phrase on both sides come in another order ("Did Rome conquer Carthage?" / "Did
    Carthage conquer Rome?"); a name a preposition places ("a CSV file in Go" / "Go code for a CSV file") is left to roles."""
    free_a = [w for (w, name), role in zip(a.content, a.roles, strict=True) if name and role is None]
    free_b = [w for (w, name), role in zip(b.content, b.roles, strict=True) if name and role is None]
    common = set(free_a) & set(free_b)
    return [w for w in free_a if w in common] != [w for w in free_b if w in common]


def _quotes_found(a: Parse, b: Parse) -> bool:
    """Each text ``a`` quotes is in ``b``, quoted or not: "How do you say 'good night' in Greek?" / "good night in greek"."""
    return all(quote in b.quoted or f" {quote} " in f" {b.words} " for quote in a.quoted)


def _without_generic_doers(side: Parse, other: Parse, text: str, other_text: str, lex: Lexicon, rules: Rules) -> Parse:
    """``side`` without "people" or "someone" doing what ``other`` says in the passive without a doer ("What language do
    people speak in Sweden?" / "Which language is spoken in Sweden?"): it names no one in particular."""
    drop = {
        i
        for i, word in enumerate(side.content)
        if word[0] in GENERIC_DOERS
        and not any(_aligned(word, w, lex, rules) for w in other.content)
        and generic_doer(text, other_text, lex.base_forms(word[0]).get("n", (word[0],))[0])
    }
    return _without(side, drop)


def _same_skeleton(a: Parse, b: Parse, lex: Lexicon, rules: Rules) -> bool:
    x, y = a.words.split(), b.words.split()
    return len(x) == len(y) and all(
        p == q or (p not in CLOSED and q not in CLOSED and _aligned((p, False), (q, False), lex, rules)) for p, q in zip(x, y, strict=True)
    )


def _unmatched(words: list[tuple[str, bool]], others: list[tuple[str, bool]], lex: Lexicon, rules: Rules) -> str | None:
    for word in words:
        if not any(_aligned(word, other, lex, rules) for other in others):
            return word[0]
    return None


DEFAULT_RULES = Rules()


def why_different(cached: str, new: str, rules: Rules = DEFAULT_RULES, lex: Lexicon | None = None) -> str | None:
    """None when ``new`` may reuse ``cached``'s answer as far as the alignment can tell, else why not."""
    if cached == new:
        return None
    lex = lex or lexicon()
    a, b = parse(cached, lex, rules), parse(new, lex, rules)
    if rules.classifiers:
        fewer_a, fewer_b = _without_classifiers(a, b, lex, rules), _without_classifiers(b, a, lex, rules)
        if fewer_a is a or fewer_b is b:  # only one side may lose a noun: "which city" / "which country" stay two words
            a, b = fewer_a, fewer_b
        a, b = _without_number_noun(a, b, lex), _without_number_noun(b, a, lex)
    if rules.literals and (a.code != b.code or not _quotes_found(a, b) or not _quotes_found(b, a)):
        return "a quoted text or code differs"
    if rules.numbers and a.numbers != b.numbers:
        return "numbers differ"
    if rules.function_words and a.function != b.function:
        return "negation differs" if a.function["not"] != b.function["not"] else "a function word differs"
    if rules.question_words and not _same_question(a, b, lex):
        return "the question word differs"
    if rules.tense and (a.past, a.future) != (b.past, b.future):
        return "tense differs"
    if rules.person and set(a.person) != set(b.person):
        generic = rules.generic_person and (not a.person or not b.person) and set(a.person or b.person) <= {"1", "1p"}
        if not generic:
            return "person differs"
    if rules.names and _names_swapped(a, b):
        return "names in another order"
    if rules.structure:
        a, b = _without_generic_doers(a, b, cached, new, lex, rules), _without_generic_doers(b, a, new, cached, lex, rules)
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
    # last, as the parse costs milliseconds: only for a candidate accepted so far, and not for one whose words are the other's
    # word for word, position by position (same small words, aligned content words), which parses alike
    if rules.structure and not _same_skeleton(a, b, lex, rules):
        return why_structure_differs(cached, new)
    return None
