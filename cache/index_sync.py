"""Keeps one process's vector index in step with the shared Redis store.

At start (and after losing Redis) it notes the change log's end, loads every
namespace's vectors, then tails the log from that point: entries written by
workers or evicted by any process show up here within one read. Until the first
load finishes, ``ready`` is False and lookups skip the semantic tier.

An entry recorded without its vector (its request skipped the embedding because no entry could
have matched it: see ``ResultCache.lookup``) arrives as an ``embed`` change: one API process claims
it, embeds its text here, off every request's path, and publishes the vector as an ``add``.
If that process dies between claim and vector, the entry stays exact-only until it expires.
Beside the vectors it keeps the entries' words (cache/word_filter.py), which tell a lookup when
no entry could pass the guard, so that it need not embed at all.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import numpy as np
import redis

from cache.index import VectorIndex
from cache.store import CacheStore, CorruptEntry, decode_vector, encode_vector
from cache.word_filter import WordFilter

log = logging.getLogger(__name__)

# Texts -> unit vectors (None for a text past the embedder's window): Embedder.embed_many.
EmbedMany = Callable[[list[str]], list[np.ndarray | None]]

BLOCK_MS = 1000
BATCH = 1000
SWEEP_S = 60.0  # how often namespaces that expired in Redis are dropped from the index


class IndexSync:
    def __init__(self, store: CacheStore, index: VectorIndex, embed: EmbedMany | None = None, words: WordFilter | None = None) -> None:
        self.store = store
        self.index = index
        self.words = words
        self.embed = embed  # None: this process leaves late entries to the others
        self.claimant = f"{os.getpid()}@{os.uname().nodename}"
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._last_id = "0-0"
        self._thread = threading.Thread(target=self._run, name="llmjobs-cache-index", daemon=True)

    def start(self) -> IndexSync:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        swept = time.monotonic()
        while not self._stop.is_set():
            try:
                if not self.ready.is_set():
                    self.load()
                self.poll(block_ms=BLOCK_MS)
                if time.monotonic() - swept > SWEEP_S:
                    self.sweep()
                    swept = time.monotonic()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("semantic cache index out of sync (%s); reloading once Redis answers", exc)
                self.ready.clear()  # Redis may come back empty: start over from what it holds
                self._stop.wait(1.0)

    def load(self) -> None:
        """Rebuild the index from Redis; tailing resumes from the log's end as it was before loading."""
        last = self.store.redis.xrevrange(self.store.log_key, count=1)
        self._last_id = last[0][0] if last else "0-0"
        self.index.clear()
        if self.words is not None:
            self.words.clear()
        count = 0
        for key in self.store.redis.scan_iter(match=self.store.base + "ns:*", count=500):
            namespace = key.removeprefix(self.store.base + "ns:")
            numbers = self.store.redis.zrange(key, 0, -1)
            for start in range(0, len(numbers), BATCH):
                chunk = numbers[start : start + BATCH]
                with self.store.redis.pipeline(transaction=False) as pipe:
                    for number in chunk:
                        pipe.hmget(self.store.entry_key(number), "vector", "text")
                    replies = pipe.execute()
                added = self._add_many(namespace, [int(n) for n in chunk], [vector for vector, _ in replies])
                self._add_words([(namespace, int(n), text) for n, (_, text) in zip(chunk, replies, strict=True) if int(n) in added])
                count += len(added)
        self.ready.set()
        log.info("semantic cache index loaded: %d entries", count)

    def poll(self, block_ms: int | None = None) -> int:
        """Apply the log's new changes; returns how many were read."""
        reply = self.store.redis.xread({self.store.log_key: self._last_id}, count=BATCH, block=block_ms)
        changes = reply[0][1] if reply else []
        late: list[tuple[str, int]] = []
        added: list[tuple[str, int]] = []
        for entry_id, fields in changes:
            self._last_id = entry_id
            try:
                if fields.get("op") == "add":
                    if self._add_many(fields["ns"], [int(fields["n"])], [fields.get("v")]):
                        added.append((fields["ns"], int(fields["n"])))
                elif fields.get("op") == "del":
                    self.index.remove(fields["ns"], int(fields["n"]))
                    if self.words is not None:
                        self.words.remove(fields["ns"], int(fields["n"]))
                elif fields.get("op") == "embed":
                    late.append((fields["ns"], int(fields["n"])))
            except (KeyError, ValueError):
                log.warning("skipped a malformed cache log entry %s", entry_id)
        if added and self.words is not None:
            with self.store.redis.pipeline(transaction=False) as pipe:
                for _, number in added:
                    pipe.hget(self.store.entry_key(number), "text")
                texts = pipe.execute()
            self._add_words([(ns, n, text) for (ns, n), text in zip(added, texts, strict=True)])
        if late and self.embed is not None:
            self.embed_late(late)
        return len(changes)

    def _add_words(self, entries: list[tuple[str, int, str | None]]) -> None:
        if self.words is not None:
            for namespace, number, text in entries:
                if text is not None:  # None: the entry went meanwhile (its `del` follows in the log)
                    self.words.add(namespace, number, text)

    def embed_late(self, entries: list[tuple[str, int]]) -> int:
        """Embed the entries this process wins the claim on, in one batch; returns how many got a vector."""
        assert self.embed is not None
        texts = self.store.claim_embeddings([n for _, n in entries], self.claimant)
        claimed = [(ns, n, text) for (ns, n), text in zip(entries, texts, strict=True) if text is not None]
        if not claimed:
            return 0
        vectors = self.embed([text for _, _, text in claimed])
        done = 0
        for (namespace, number, _), vector in zip(claimed, vectors, strict=True):
            if vector is not None:  # None: past the embedder's window, the entry stays exact-only
                done += self.store.set_vector(namespace, number, encode_vector(vector))
        return done

    def sweep(self) -> int:
        """Drop namespaces whose sorted set expired (no insert for a whole TTL); returns how many."""
        namespaces = self.index.namespaces()
        with self.store.redis.pipeline(transaction=False) as pipe:
            for namespace in namespaces:
                pipe.exists(self.store.namespace_key(namespace))
            alive = pipe.execute()
        dead = [ns for ns, exists in zip(namespaces, alive, strict=True) if not exists]
        for namespace in dead:
            self.index.drop(namespace)
            if self.words is not None:
                self.words.drop(namespace)
        return len(dead)

    def _add_many(self, namespace: str, numbers: list[int], encoded: list[str | None]) -> set[int]:
        good_numbers, good_vectors = [], []
        for number, vector in zip(numbers, encoded, strict=True):
            if not vector:
                continue
            try:
                good_vectors.append(decode_vector(vector))
                good_numbers.append(number)
            except (CorruptEntry, ValueError):
                log.warning("cache entry %d has a corrupt vector: deleted", number)
                self.store.delete(number)
        if good_numbers:
            self.index.add_many(namespace, good_numbers, np.stack(good_vectors))
        return set(good_numbers)
