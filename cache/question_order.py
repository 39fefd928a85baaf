"""Who does what in a question, read by word order where spaCy's small model misreads it (``cache/structure.py``).

The small English model often reads the subject and verb after a fronted question word as one noun phrase ("Which
artists did Picasso inspire?": "Picasso inspire"), and a subject question's verb as a noun ("What hunts owls?"). English
puts these questions' parts in a fixed order, so position says what the parse missed: a question phrase, an auxiliary, a
subject, a verb ("What do owls hunt?": the question word is the object); or a question phrase, then a verb, then its
object ("What hunts owls?": the question word is the subject). A verb is a word WordNet knows as one.
"""

from __future__ import annotations

from cache.lexicon import lexicon

SUBJECT, OBJECT = "subject", "object"
QUESTION_WORDS = frozenset("who whom what which".split())  # not "that", a relative pronoun ("countries that use the euro")
AUX = frozenset("do does did can could may might must should shall will would is are am was were has have had".split())


def _verb(token) -> str | None:
    verbs = lexicon().base_forms(token.lower_).get("v")
    return verbs[0] if verbs else None


def _may_be_verb(token) -> bool:
    """A word WordNet knows as a verb and not a name ("Jobs", "Times" are no verbs here)."""
    return _verb(token) is not None and not (token.i > 0 and token.text[:1].isupper())


def _role_of(token, verb) -> str | None:
    """The role of ``token`` (a subject, object or prepositional object) around ``verb`` in a parsed statement."""
    aux = {c.lemma_.lower() for c in verb.children if c.dep_ in ("aux", "auxpass")}
    if token.dep_ == "nsubjpass" or (token.dep_ == "nsubj" and verb.tag_ == "VBN" and "be" in aux and "have" not in aux):
        return OBJECT
    if token.dep_ == "nsubj":
        return SUBJECT
    if token.dep_ == "dobj":
        return OBJECT
    if token.dep_ == "pobj":
        return SUBJECT if token.head.dep_ == "agent" or token.head.lower_ == "by" else token.head.lower_
    return None


def _verb_of(token):
    head = token.head.head if token.dep_ == "pobj" else token.head
    return head if head.pos_ in ("VERB", "AUX") and _verb(head) and head.lemma_.lower() not in ("be", "have", "do") else None


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
    start = next((i for i, t in enumerate(rest) if t.pos_ != "DET"), len(rest))  # the subject's first word
    candidates = [
        j for j in range(start + 1, len(rest)) if _may_be_verb(rest[j]) and (not be or rest[j].lower_.endswith(("ing", "ed", "en")))
    ]
    for strict in (True, False):
        for j in candidates:
            # "Brazil will export coffee to which countries?": a modal before the verb's base form leaves the model no noun
            # reading of it (after "do"/"does"/"did"); "is"/"was" stay, with their participle
            helper, form = (aux.lower_, rest[j].text) if be else ("will", _verb(rest[j]))
            text = " ".join([rest[0].text[:1].upper() + rest[0].text[1:], *(t.text for t in rest[1:j]), helper, form,
                             *(t.text for t in rest[j + 1 :]), question]) + "?"  # fmt: skip
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
    """ "What hunts owls?", "Which tables reference the orders table?", "Which language is spoken in Sweden?": the question
    phrase replaced by "It", a statement the model parses well ("It hunts owls.", "It is spoken in Sweden."), trying each
    split after the question word where an auxiliary or a word WordNet knows as a verb starts the rest."""
    words = [t for t in doc if not t.is_punct]
    if len(words) < 3 or words[0].lower_ not in QUESTION_WORDS:
        return set()
    for k in range(2 if words[0].lower_ == "which" else 1, min(4, len(words) - 1)):  # "which tables": a noun
        if words[k].lower_ not in AUX and not _may_be_verb(words[k]):
            continue
        pronoun = "They" if words[k].lower_ in ("are", "were", "do", "have") or words[k].lower_ == _verb(words[k]) else "It"
        statement = parse(" ".join([pronoun, *(t.text for t in words[k:])]) + ".")
        verb = _verb_of(statement[0])
        role = _role_of(statement[0], verb) if verb is not None else None
        if role in (SUBJECT, OBJECT):
            others = {
                (word(c), _verb(verb), r)
                for c in statement
                if c.i > 0 and (v := _verb_of(c)) is not None and v.i == verb.i and (r := _role_of(c, verb)) in (SUBJECT, OBJECT)
            }
            return {("?", _verb(verb), role)} | others
    return set()


def relative_roles(doc, word, parse) -> set[tuple[str, str, str]]:
    """ "the song that samples Under Pressure" / "the song that Under Pressure samples": each relative clause re-read as a
    statement with "it" for the noun before "that" / "who" / "which" ("It samples Under Pressure.", "Under Pressure
    samples it."), so that noun's role and the clause's subject and object are the parse of a plain sentence."""
    roles: set[tuple[str, str, str]] = set()
    for pronoun in doc:
        if pronoun.lower_ not in ("that", "who", "whom", "which") or pronoun.i == 0 or doc[pronoun.i - 1].pos_ not in ("NOUN", "PROPN"):
            continue
        clause = []
        for t in doc[pronoun.i + 1 :]:
            if t.is_punct:
                break
            clause.append(t)
        if not clause:
            continue
        first = clause[0]
        subject_relative = first.lower_ in AUX or (_may_be_verb(first) and first.tag_.startswith("VB"))
        text = " ".join(t.text for t in clause)
        if not subject_relative:  # "Under Pressure will sample it.": the verb's base form after a modal (see fronted_roles)
            at = next((i for i, t in enumerate(clause) if i > 0 and _may_be_verb(t) and t.pos_ != "DET"), None)
            if at is not None and clause[at - 1].lower_ not in AUX:
                text = " ".join([*(t.text for t in clause[:at]), "will", _verb(clause[at]), *(t.text for t in clause[at + 1 :])])
        statement = parse(f"It {text}." if subject_relative else f"{text[:1].upper()}{text[1:]} it.")
        noun = word(doc[pronoun.i - 1])
        for t in statement:
            verb = _verb_of(t)
            role = _role_of(t, verb) if verb is not None else None
            if role is not None and (role in (SUBJECT, OBJECT) or t.lower_ == "it"):
                roles.add((noun if t.lower_ == "it" else word(t), _verb(verb), role))
    return roles
