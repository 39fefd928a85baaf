"""Shared by the cache's unit tests: the first set of paraphrase and near-miss pairs (issue 6)."""

from __future__ import annotations

import pytest

from loadtest.inprocess.cache_eval import read_sets


@pytest.fixture(scope="session")
def pair_rows() -> list[dict]:
    """The ``original`` evaluation set: ``a``, ``b`` and ``label`` (``paraphrase`` or ``near_miss``)."""
    return read_sets(("original",))["original"]
