"""Could any cached entry of a namespace pass the rule for this text? Asked before embedding it.

The rule (cache/guard.py) serves a candidate only when its words, read as the rule reads them, are the new
prompt's. So this process keeps, per namespace, the hash of each entry's words; a lookup whose words no entry
has cannot hit, and skips its embedding (16 of the 22 ms of a submit's CPU). A hash collision can only say
"possible" (the request then embeds, and the rule decides), never hide a hit.
"""

from __future__ import annotations

import threading
from collections import Counter

from cache.guard import words


class WordFilter:
    def __init__(self) -> None:
        self._entries: dict[str, dict[int, int]] = {}  # namespace -> entry number -> hash of its words
        self._hashes: dict[str, Counter[int]] = {}  # namespace -> how many entries have each hash
        self._lock = threading.Lock()  # the index-sync thread writes, request threads read

    def add(self, namespace: str, number: int, text: str) -> None:
        key = hash(words(text))
        with self._lock:
            entries = self._entries.setdefault(namespace, {})
            if number not in entries:
                entries[number] = key
                self._hashes.setdefault(namespace, Counter())[key] += 1

    def remove(self, namespace: str, number: int) -> None:
        with self._lock:
            key = self._entries.get(namespace, {}).pop(number, None)
            if key is None:
                return
            hashes = self._hashes[namespace]
            hashes[key] -= 1
            if hashes[key] == 0:
                del hashes[key]
            if not hashes:
                del self._entries[namespace], self._hashes[namespace]

    def drop(self, namespace: str) -> None:
        with self._lock:
            self._entries.pop(namespace, None)
            self._hashes.pop(namespace, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._hashes.clear()

    def could_hit(self, namespace: str, text: str) -> bool:
        """False only when no entry of ``namespace`` has the words of ``text``."""
        key = hash(words(text))
        with self._lock:
            return key in self._hashes.get(namespace, ())
