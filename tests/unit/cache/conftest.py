"""Shared by the cache's unit tests: the shipped set of paraphrase and near-miss pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PAIRS = Path(__file__).resolve().parents[3] / "cache" / "data" / "pairs.jsonl"


@pytest.fixture(scope="session")
def pair_rows() -> list[dict]:
    """Every row of cache/data/pairs.jsonl: ``a``, ``b`` and ``label`` (``paraphrase`` or ``near_miss``)."""
    return [json.loads(line) for line in PAIRS.read_text().splitlines()]
