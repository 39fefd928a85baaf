"""Whether two prompts ask about the same doers, done-tos and owners: the comparisons of ``cache/structure.py``'s readings."""

from __future__ import annotations

from cache.structure import OBJECT, SUBJECT, Structure, structure


def _by_key(items, size: int) -> dict:
    out: dict = {}
    for item in items:
        out.setdefault(item[:size], set()).add(item[size])
    return out


def why_structure_differs(a: str, b: str) -> str | None:
    """Why ``a`` and ``b`` ask about different doers, done-tos or owners, or None."""
    x, y = structure(a), structure(b)
    return _roles(x, y) or _doer_owner(x, y) or _doer_owner(y, x) or _owners(x, y) or _owners(y, x) or _rest(x, y)


def _roles(x: Structure, y: Structure) -> str | None:
    roles_x, roles_y = _by_key(x.roles, 2), _by_key(y.roles, 2)
    for key in roles_x.keys() & roles_y.keys():  # "Who killed Lincoln?" / "Who did Lincoln kill?"
        one_only, other_only = roles_x[key] - roles_y[key], roles_y[key] - roles_x[key]
        if (one_only and other_only) or (one_only | other_only and roles_x[key] | roles_y[key] == {SUBJECT, OBJECT}):
            one, other = "/".join(sorted(roles_x[key])), "/".join(sorted(roles_y[key]))
            return f"{_say(key[0])} is {key[1]!r}'s {one} on one side, its {other} on the other"
    return None


def _doer_owner(one: Structure, other: Structure) -> str | None:
    # "Who did Aristotle tutor?" / "Who was Aristotle's tutor?": whose tutor is whom the verb tutors, its object
    for word, verb, role in one.roles:
        if role == SUBJECT and any(noun == verb and word in owner for noun, owner in other.relata):
            return f"{_say(word)} does the {verb!r} on one side, is its object on the other"
    return None


def _owners(x: Structure, y: Structure) -> str | None:
    """ "Who is Zeus the father of?" / "Who is the father of Zeus?", "the king whose son was Henry VIII" / "the king who was
    Henry VIII's son": one noun, owned by words the other side has elsewhere."""
    for noun, owner in x.relata:
        theirs = {o for n, o in y.relata if n == noun and o != owner}
        # the same name, whole or in part, on both sides: "the teacher of Alexander the Great" / "Alexander the Great's teacher"
        if not theirs or (noun, owner) in y.relata or any(o & owner and o & owner <= x.names & y.names for o in theirs):
            continue
        if "?" in owner or any("?" in o for o in theirs):
            return f"the question asks whose {noun!r} on one side only"
        chained = any(n in o for n, o2 in x.relata | y.relata for o in theirs | {owner} if o2 & (theirs | {owner}) - {o})
        if owner <= y.lemmas and any(o <= x.lemmas for o in theirs) and not chained:
            return f"{noun!r} belongs to another on each side"
    return None


def _rest(x: Structure, y: Structure) -> str | None:
    asked_x, asked_y = {p[0] for p in x.preps if p[2] == "?"}, {p[0] for p in y.preps if p[2] == "?"}
    if asked_x and asked_y and asked_x != asked_y:  # "Who was the Taj Mahal built for?" / "... built by?"
        return "the question word has another preposition on each side"
    preps_x, preps_y = _by_key(x.preps, 2), _by_key(y.preps, 2)
    for key in preps_x.keys() & preps_y.keys():  # "Who is Ross in love with?" / "Who is in love with Ross?"
        if "?" in preps_x[key] ^ preps_y[key]:
            return f"the question asks what {' '.join(reversed(key))!r} on one side only"
    if x.modality is not None and y.modality is not None and x.modality != y.modality:
        return "the question asks what may be done on one side, what must on the other"  # "Can I tip?" / "Do I have to tip?"
    for verb, under_way in x.progressive:  # "What books are being written by Stephen King?" / "... are written by ..."
        if (verb, not under_way) in y.progressive and (verb, under_way) not in y.progressive:
            return f"{verb!r} is under way on one side only"
    return _persons(x, y)


def _persons(x: Structure, y: Structure) -> str | None:
    """ "What is your name?" / "What is my name?", "Can I see your screen?" / "Can you see my screen?": "I" and "you" stand
    for each other only in a question anyone may ask of themselves, and all of them at once ("How do I / you reset my /
    your password?")."""
    slots_x, slots_y = _by_key(x.persons, 1), _by_key(y.persons, 1)
    changed = {(frozenset(slots_x[s]), frozenset(slots_y[s])) for s in slots_x.keys() & slots_y.keys() if slots_x[s] != slots_y[s]}
    if not changed or (len(changed) == 1 and x.generic_person and y.generic_person):
        return None  # "How do I say thank you?" / "How do you say thank you?": "I" became "you" wherever it changed
    return "'I' and 'you' are different people here"


def generic_doer(said: str, other: str, word: str) -> bool:
    """Whether ``word`` ("people", "someone") is in ``said`` the subject of a verb ``other`` puts in the passive without a
    doer: "What language do people speak in Sweden?" / "Which language is spoken in Sweden?"."""
    verbs = {verb for w, verb, role in structure(said).roles if w == word and role == SUBJECT}
    theirs = structure(other)
    if not verbs or any(role == SUBJECT and verb in verbs for _, verb, role in theirs.roles):
        return False
    # the verb in the passive: no doer named (above), a subject (which the small model often labels plainly): the verbs
    # with a subject are those whose aspect ``progressive`` records
    return any(verb in verbs for verb, _ in theirs.progressive)


def _say(word: str) -> str:
    return "the question word" if word == "?" else repr(word)
