"""The benchmark workloads: each a small file under ``loadtest/workloads/``.

- ``short_chat``: short chat questions.
- ``distinct_chat``: 1,024 short chat questions, no two alike (each of ``short_chat``'s with a
  sentence of context from ``sentences.txt``), so neither a result cache nor a prompt cache
  answers a repeat: what open-loop runs of many requests need.
- ``long_prompt``: summarize a ~1,000-token document (built deterministically from
  ``sentences.txt``, so the repository holds a few kilobytes, not megabytes).
- ``shared_prefix``: one ~1,000-token system prompt shared by every request, with
  varied questions (what prefix caching helps).
- ``duplicates``: exact repeats and paraphrases of a few questions (what a semantic cache helps).

Items are chat requests ``{"messages": [...]}``. The order is fixed by a seed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).parent / "workloads"
NAMES = ("short_chat", "distinct_chat", "long_prompt", "shared_prefix", "duplicates")
CHARS_PER_TOKEN = 4.6  # SmolLM2 tokenizer on this English text (measured: ~4,600 chars per 1,000 tokens)


def _jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FOLDER / name).read_text().splitlines() if line.strip()]


def _document(rng: random.Random, tokens: int) -> str:
    sentences = [s for s in (FOLDER / "sentences.txt").read_text().splitlines() if s.strip()]
    start = rng.randrange(len(sentences))
    text: list[str] = []
    i = start
    while sum(len(s) + 1 for s in text) < tokens * CHARS_PER_TOKEN:
        text.append(sentences[i % len(sentences)])
        i += 1
    return " ".join(text)


def load(name: str, *, seed: int = 0) -> list[dict[str, Any]]:
    """The workload's items in a seeded, repeatable order."""
    rng = random.Random(seed)
    questions = _jsonl("short_chat.jsonl")
    if name == "short_chat":
        items = questions
    elif name == "distinct_chat":
        sentences = [s for s in (FOLDER / "sentences.txt").read_text().splitlines() if s.strip()]
        items = [
            {"messages": [{"role": "user", "content": f"{sentences[i % len(sentences)]} {q['messages'][0]['content']}"}]}
            for i, q in enumerate(questions[j % len(questions)] for j in range(1024))
        ]
    elif name == "long_prompt":
        items = [
            {"messages": [{"role": "user", "content": "Summarize this text in three sentences:\n\n" + _document(rng, 1000)}]}
            for _ in range(16)
        ]
    elif name == "shared_prefix":
        system = "You answer questions for visitors of a harbour town. Background:\n\n" + _document(random.Random(1234), 1000)
        items = [{"messages": [{"role": "system", "content": system}, *q["messages"]]} for q in questions]
    elif name == "duplicates":
        items = []
        for group in _jsonl("duplicates.jsonl"):
            for text in (group["original"], group["original"], *group["paraphrases"]):
                items.append({"messages": [{"role": "user", "content": text}]})
    else:
        raise ValueError(f"unknown workload {name!r}; choose from {', '.join(NAMES)}")
    items = list(items)
    rng.shuffle(items)
    return items


def take(items: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` items, cycling through the workload when it is shorter."""
    return [items[i % len(items)] for i in range(n)]
