"""Who does what in a question, read by word order where spaCy's small model misreads it (``cache/structure.py``).

The small English model often reads the subject and verb after a fronted question word as one noun phrase ("Which
artists did Picasso inspire?": "Picasso inspire"), and a subject question's verb as a noun ("What hunts owls?"). English
puts these questions' parts in a fixed order, so position says what the parse missed: a question phrase, an auxiliary, a
subject, a verb ("What do owls hunt?": the question word is the object); or a question phrase, then a verb, then its
object ("What hunts owls?": the question word is the subject). A verb is a word WordNet knows as one.
"""

from __future__ import annotations

from cache.guard_parse import is_past
from cache.lexicon import lexicon

SUBJECT, OBJECT = "subject", "object"
QUESTION_WORDS = frozenset("who whom what which".split())
AUX = frozenset("do does did can could may might must should shall will would is are am was were has have had".split())


def _verb(token) -> str | None:
    verbs = lexicon().base_forms(token.lower_).get("v")
    return verbs[0] if verbs else None


def _inflected(token) -> bool:
    """ "hunts", "persuaded", "wrote": a verb's form that cannot be a plural noun's or a base form's alone."""
    lower = token.lower_
    return _verb(token) is not None and (token.tag_.startswith("VB") or lower.endswith("ed") or is_past(lower, lexicon()) or
                                         (lower.endswith("s") and "n" not in lexicon().base_forms(lower)))  # fmt: skip


def _phrase_end(words, k: int) -> int:
    """Past a question phrase's nouns and adjectives ("which functions", "what time zone")."""
    while k < len(words) and words[k].lower_ not in AUX and words[k].pos_ in ("NOUN", "ADJ", "PROPN") and not _inflected(words[k]):
        k += 1
    return k


def fronted_roles(doc, word, parse) -> set[tuple[str, str, str]]:
    """ "Which artists did Picasso inspire?", "Who is Meta suing?", "Who was Lincoln succeeded by?": put back in the order
    of a statement ("Picasso did inspire which artists?"), which the model parses well, trying each word WordNet knows
    as a verb after the subject's first word; the first that the parse makes a verb with a subject before it, else one
    whose auxiliary has that subject, names the verb and its subject."""
    words = [t for t in doc if not t.is_punct]
    k = next((i for i in range(1, min(5, len(words))) if words[i].lower_ in AUX), None)
    if len(words) < 4 or words[0].lower_ not in QUESTION_WORDS or k is None or k + 2 >= len(words):
        return set()
    question, aux, rest = " ".join(t.lower_ for t in words[:k]), words[k], words[k + 1 :]
    be, stranded = aux.lemma_.lower() == "be", rest[-1].pos_ == "ADP"
    candidates = [j for j in range(1, len(rest)) if _verb(rest[j]) and (not be or rest[j].lower_.endswith(("ing", "ed", "en")))]
    for strict in (True, False):
        for j in candidates:
            text = " ".join([rest[0].text[:1].upper() + rest[0].text[1:], *(t.text for t in rest[1:j]), aux.lower_,
                             *(t.text for t in rest[j:]), question]) + "?"  # fmt: skip
            statement = parse(text)
            verb, helper = statement[j + 1], statement[j]
            if strict and verb.pos_ != "VERB":
                continue
            subjects = [c for h in (verb, helper) for c in h.children if c.dep_ in ("nsubj", "nsubjpass") and c.i < j and c.pos_ != "DET"]
            if strict and not subjects:  # "Owls do hunt what?" reads "Owls" as an adverbial: the words before "do" are the subject
                subjects = [t for t in statement[:j] if t.pos_ in ("NOUN", "PROPN", "PRON")][-1:]
            if subjects:
                return _fronted(word(subjects[0]), _verb(rest[j]), be and not rest[j].lower_.endswith("ing"), stranded, rest[-1].lower_)
    return set()


def _fronted(subject: str, verb: str, passive: bool, stranded: bool, last: str) -> set[tuple[str, str, str]]:
    if passive:  # its subject is the object; "... by?" asks for the doer
        return {(subject, verb, OBJECT)} | ({("?", verb, SUBJECT)} if last == "by" else set())
    return {(subject, verb, SUBJECT), ("?", verb, last if stranded else OBJECT)}


def subject_question_roles(doc, word, parse) -> set[tuple[str, str, str]]:
    """ "What hunts owls?", "Which tables reference the orders table?": the question phrase replaced by "It", a statement
    the model parses well ("It hunts owls."), trying each split after the question word where WordNet knows a verb."""
    words = [t for t in doc if not t.is_punct]
    if len(words) < 3 or words[0].lower_ not in QUESTION_WORDS:
        return set()
    for k in range(1, min(4, len(words) - 1)):
        if words[k].lower_ in AUX or _verb(words[k]) is None:
            continue
        pronoun = "They" if words[k].lower_ == _verb(words[k]) else "It"  # "They export coffee to Brazil.", "It hunts owls."
        statement = parse(" ".join([pronoun, *(t.text for t in words[k:])]) + ".")
        verb = statement[1]
        if verb.pos_ == "VERB" and any(c.dep_ == "nsubj" and c.i == 0 for c in verb.children):
            objects = {(word(c), _verb(words[k]), OBJECT) for c in verb.children if c.dep_ == "dobj"}
            return {("?", _verb(words[k]), SUBJECT)} | objects
    return set()
