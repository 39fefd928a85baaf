"""This process's nearest-neighbour index over cached prompts' embeddings, one per namespace.

usearch's HNSW graph answers a query over 100k vectors in about a millisecond where
a brute-force scan reads 150 MB (~10 ms on this machine's memory bandwidth). The
graph is approximate: a missed neighbour is a cache miss, never a wrong answer,
because every candidate is checked again (threshold, the guard's rule, entry still in
Redis) before it is served. Keys are Redis entry numbers.
"""

from __future__ import annotations

import threading

import numpy as np
from usearch.index import Index

from cache.embedder import DIMENSIONS


class VectorIndex:
    def __init__(self) -> None:
        self._indexes: dict[str, Index] = {}
        self._lock = threading.Lock()  # usearch is thread-safe for reads, not for add/remove races on one key

    def _index(self, namespace: str) -> Index:
        index = self._indexes.get(namespace)
        if index is None:
            # expansion_search 128 (usearch default 64): 100k random vectors found 88 % of true neighbours at 64.
            index = self._indexes[namespace] = Index(ndim=DIMENSIONS, metric="cos", dtype="f32", expansion_search=128)
        return index

    def add(self, namespace: str, key: int, vector: np.ndarray) -> None:
        with self._lock:
            index = self._index(namespace)
            if key in index:
                return
            index.add(key, vector)

    def add_many(self, namespace: str, keys: list[int], vectors: np.ndarray) -> None:
        """Bulk insert (a reload): usearch builds the graph on all cores at once."""
        with self._lock:
            index = self._index(namespace)
            fresh = [i for i, key in enumerate(keys) if key not in index]
            if fresh:
                index.add(np.asarray(keys, dtype=np.uint64)[fresh], vectors[fresh])

    def remove(self, namespace: str, key: int) -> None:
        with self._lock:
            index = self._indexes.get(namespace)
            if index is not None and key in index:
                index.remove(key)
                if len(index) == 0:
                    del self._indexes[namespace]

    def search(self, namespace: str, vector: np.ndarray, count: int = 3) -> list[tuple[int, float]]:
        """Up to ``count`` (key, cosine similarity) pairs, most similar first."""
        index = self._indexes.get(namespace)
        if index is None or len(index) == 0:
            return []
        matches = index.search(vector, count)
        return [(int(key), 1.0 - float(distance)) for key, distance in zip(matches.keys, matches.distances, strict=True)]

    def has(self, namespace: str) -> bool:
        """Whether any entry of ``namespace`` is indexed here (a search could find something)."""
        index = self._indexes.get(namespace)
        return index is not None and len(index) > 0

    def __len__(self) -> int:
        return sum(len(index) for index in self._indexes.values())

    def namespaces(self) -> list[str]:
        return list(self._indexes)

    def drop(self, namespace: str) -> None:
        with self._lock:
            self._indexes.pop(namespace, None)

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()
