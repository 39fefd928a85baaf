"""Could any cached entry of a namespace pass the guard for this text? Asked before embedding it.

The guard (cache/guard.py) refuses a semantic hit unless every content word of the new prompt is
aligned with a content word of the cached one: the same word, a form of the same word, or a word
sharing one of its most frequent WordNet senses. So each content word is turned into its *keys*
(the word, its base forms, its senses): two aligned words always share a key. Each entry keeps a
fixed-width signature, the bits its keys hash to, and a text can only hit an entry whose
signature has a bit of every one of the text's words. When no entry of the namespace has, no
hit is possible and the request skips its embedding (16 of the 22 ms of a submit's CPU).

The test is one-sided by design: a hash collision or a stale row can only say "possible" (then the
request embeds as before), never hide a hit the guard would allow. Memory: 64 bytes an entry.
Why hand-written: no packaged index answers "some entry matches every word through one of its
keys" (an inverted index answers it at many times the memory; a Bloom filter answers per key, not
per entry); with numpy it is an AND and an OR over a matrix.
"""

from __future__ import annotations

import threading
import zlib

import numpy as np

from cache.guard import parse
from cache.lexicon import Lexicon

WORDS = 8  # uint64 words a signature: 512 bits
SENSE_DEPTH = 2  # as the guard's default Rules.sense_depth: fewer senses would make the filter stricter than the guard


def word_keys(word: str, lex: Lexicon) -> set[str]:
    """What two words the guard may align always share at least one of."""
    keys = {f"w:{word}"}
    keys |= {f"f:{pos}:{base}" for pos, bases in lex.base_forms(word).items() for base in bases}
    keys |= {f"s:{pos}:{offset}" for pos, offset in lex.senses(word, SENSE_DEPTH)}
    return keys


def _mask(keys: set[str]) -> np.ndarray:
    mask = np.zeros(WORDS, dtype=np.uint64)
    for key in keys:
        bit = zlib.crc32(key.encode()) % (64 * WORDS)
        mask[bit // 64] |= np.uint64(1 << (bit % 64))
    return mask


class _Namespace:
    def __init__(self) -> None:
        self.rows: dict[int, int] = {}  # entry number -> row
        self.free: list[int] = []
        self.signatures = np.zeros((16, WORDS), dtype=np.uint64)  # a freed row is zeros: it matches nothing

    def add(self, number: int, signature: np.ndarray) -> None:
        if number in self.rows:
            return
        if self.free:
            row = self.free.pop()
        else:
            row = len(self.rows)
            if row == len(self.signatures):
                self.signatures = np.concatenate([self.signatures, np.zeros_like(self.signatures)])
        self.rows[number] = row
        self.signatures[row] = signature

    def remove(self, number: int) -> None:
        row = self.rows.pop(number, None)
        if row is not None:
            self.signatures[row] = 0
            self.free.append(row)


class WordFilter:
    def __init__(self, lex: Lexicon) -> None:
        self.lex = lex
        self._namespaces: dict[str, _Namespace] = {}
        self._lock = threading.Lock()  # the index-sync thread writes, request threads read

    def _word_masks(self, text: str) -> list[np.ndarray]:
        return [_mask(word_keys(word, self.lex)) for word, _ in parse(text, self.lex).content]

    def add(self, namespace: str, number: int, text: str) -> None:
        masks = self._word_masks(text)
        signature = np.bitwise_or.reduce(masks) if masks else np.zeros(WORDS, dtype=np.uint64)
        with self._lock:
            self._namespaces.setdefault(namespace, _Namespace()).add(number, signature)

    def remove(self, namespace: str, number: int) -> None:
        with self._lock:
            space = self._namespaces.get(namespace)
            if space is not None:
                space.remove(number)
                if not space.rows:
                    del self._namespaces[namespace]

    def drop(self, namespace: str) -> None:
        with self._lock:
            self._namespaces.pop(namespace, None)

    def clear(self) -> None:
        with self._lock:
            self._namespaces.clear()

    def could_hit(self, namespace: str, text: str) -> bool:
        """False only when no entry of ``namespace`` shares a key with each content word of ``text``."""
        masks = self._word_masks(text)
        with self._lock:
            space = self._namespaces.get(namespace)
            if space is None or not space.rows:
                return False
            if not masks:  # no content word: the guard decides on the small words alone
                return True
            used = space.signatures[: len(space.rows) + len(space.free)]
            possible = np.ones(len(used), dtype=bool)
            for mask in masks:
                possible &= (used & mask).any(axis=1)
                if not possible.any():
                    return False
        return True
