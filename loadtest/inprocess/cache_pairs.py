"""Paraphrase and near-miss pairs for evaluating the semantic cache, generated from templates and word lists.

Written from the issue's list of categories (issue 18), not from the guard's rules: each family is a
question asked in a few natural ways (paraphrase pairs: two phrasings, same slot values) and with
one slot changed (near-miss pairs: same phrasing, another entity, number, antonym, tense,
constraint...). Families alternate between a development part (``dev``: tune on it) and a test part
(``test``: report it, never tune on it), so the test part's phrasings and word lists are never seen
while tuning. Deterministic: the same list every run.
"""

from __future__ import annotations

from itertools import combinations

from loadtest.inprocess.cache_families import COUNTRIES, FAMILIES

# Near misses that change the wording rather than a slot: negation, quantifiers, tense, person, constraints.
CONTRASTS: tuple[tuple[str, str, str], ...] = tuple(
    (category, a.format(x=x), b.format(x=x))
    for category, pairs, xs in (
        (
            "negation",
            (
                ("Is {x} safe to eat?", "Is {x} unsafe to eat?"),
                ("Is {x} healthy?", "Is {x} not healthy?"),
                ("Which foods go well with {x}?", "Which foods do not go well with {x}?"),
                ("Why do people like {x}?", "Why don't people like {x}?"),
                ("Can dogs eat {x}?", "Can't dogs eat {x}?"),
                ("Recipes with {x}", "Recipes without {x}"),
            ),
            ("rice", "honey", "chocolate", "cheese", "garlic", "spinach", "tofu", "eggs"),
        ),
        (
            "quantifier",
            (
                ("Do all {x} need sunlight?", "Do some {x} need sunlight?"),
                ("Are most {x} edible?", "Are any {x} edible?"),
                ("Why do many {x} grow in shade?", "Why do few {x} grow in shade?"),
                ("Do {x} always need water daily?", "Do {x} never need water daily?"),
            ),
            ("plants", "mushrooms", "ferns", "flowers", "herbs", "trees", "mosses", "berries"),
        ),
        (
            "tense",
            (
                ("Who is the president of {x}?", "Who was the president of {x}?"),
                ("Who will host the Olympics in {x}?", "Who hosted the Olympics in {x}?"),
                ("What is the economy of {x} like?", "What was the economy of {x} like?"),
                ("How does {x} elect its leader?", "How did {x} elect its leader?"),
            ),
            COUNTRIES[:8],
        ),
        (
            "person",
            (
                ("How do I apply for a passport in {x}?", "How does my mother apply for a passport in {x}?"),
                ("Write a cover letter for my job application in {x}.", "Write a cover letter for her job application in {x}."),
                ("What should I pack for a trip to {x}?", "What should my kids pack for a trip to {x}?"),
            ),
            COUNTRIES[:8],
        ),
        (
            "constraint",
            (
                ("Explain {x} in one sentence.", "Explain {x} in detail."),
                ("Explain {x} to a five-year-old.", "Explain {x} to a physicist."),
                ("Describe {x} in French.", "Describe {x} in English."),
                ("Write a haiku about {x}.", "Write a limerick about {x}."),
                ("Summarize {x} in bullet points.", "Summarize {x} in a paragraph."),
                ("Explain {x} with examples.", "Explain {x} without examples."),
            ),
            ("photosynthesis", "gravity", "inflation", "evolution", "democracy", "entropy", "recursion", "photosynthesis in algae"),
        ),
    )
    for a, b in pairs
    for x in xs
)


def pairs() -> list[dict]:
    """Every pair: ``a`` (cached), ``b`` (new), ``label`` (paraphrase / near_miss), ``category``, ``split`` (dev / test)."""
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for family in FAMILIES:
        n = seen[family.category] = seen.get(family.category, -1) + 1
        split = "dev" if n % 2 == 0 else "test"
        fill = [[p.format(**dict(zip("xy", value, strict=False))) for p in family.phrasings] for value in family.values]
        for texts in fill:
            rows += [_row(a, b, "paraphrase", family.category, split) for a, b in combinations(texts, 2)]
        for i, texts in enumerate(fill):
            other = fill[(i + 1) % len(fill)]
            rows += [_row(a, b, "near_miss", family.category, split) for a, b in zip(texts, other, strict=True)]
    for i, (category, a, b) in enumerate(CONTRASTS):
        rows.append(_row(a, b, "near_miss", category, "dev" if (i // 8) % 2 == 0 else "test"))
    return rows


def _row(a: str, b: str, label: str, category: str, split: str) -> dict:
    return {"a": a, "b": b, "label": label, "category": category, "split": split}
