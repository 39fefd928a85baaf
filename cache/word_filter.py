"""Could any cached entry of a namespace pass the guard for this text? Asked before embedding it.

The guard (cache/guard.py) refuses a semantic hit unless every content word of the new prompt is
aligned with a content word of the cached one: the same word, a form of the same word, or a word
sharing one of its most frequent WordNet senses. So each content word is turned into its *keys*
(its senses; a word WordNet does not know is its own key, less a plural "s"): two words the guard may align always
share a key. For each key the filter keeps the entries holding it (a compressed bitmap), and a
text can only hit an entry found under some key of every one of its words. When no entry is, no
hit is possible and the request skips its embedding (16 of the 22 ms of a submit's CPU).

The test is one-sided by design: keys are hashed to 32 bits, and a collision can only say
"possible" (then the request embeds as before), never hide a hit the guard would allow.
Hand-written over pyroaring's bitmaps because no package answers "some entry matches every word
through one of its keys". Measured with distinct_chat prompts: 0.10 ms a check at 1k entries,
0.25 ms p50 / 0.40 ms p95 at 100k; about 460 bytes an entry (46 MB at 100k); of 24 new prompts
against 1k entries none needed its embedding, and every one of the 24 already cached did.
"""

from __future__ import annotations

import threading
import zlib
from array import array

from pyroaring import BitMap

from cache.guard import may_go_unmatched
from cache.guard_parse import parse
from cache.lexicon import Lexicon

SENSE_DEPTH = 2  # as the guard's default Rules.sense_depth: fewer senses would make the filter stricter than the guard


def word_keys(word: str, lex: Lexicon) -> set[int]:
    """What two words the guard may align always share at least one of: shared base forms
    share their first senses, and an unknown word aligns only with itself."""
    senses = lex.senses(word, SENSE_DEPTH) | lex.related(word, SENSE_DEPTH)  # the guard also aligns height and tall
    names = [f"{pos}:{offset}" for pos, offset in senses] or [f"w:{word.removesuffix('s')}"]
    return {zlib.crc32(name.encode()) for name in names}


class _Namespace:
    def __init__(self) -> None:
        self.entries: dict[int, array] = {}  # entry number -> its keys (to remove it again)
        self.keys: dict[int, BitMap] = {}  # key -> entry numbers holding it

    def add(self, number: int, keys: set[int]) -> None:
        if number in self.entries:
            return
        self.entries[number] = array("I", sorted(keys))
        for key in keys:
            self.keys.setdefault(key, BitMap()).add(number)

    def remove(self, number: int) -> None:
        for key in self.entries.pop(number, ()):
            holders = self.keys.get(key)
            if holders is not None:
                holders.discard(number)
                if not holders:
                    del self.keys[key]


class WordFilter:
    def __init__(self, lex: Lexicon) -> None:
        self.lex = lex
        self._namespaces: dict[str, _Namespace] = {}
        self._lock = threading.Lock()  # the index-sync thread writes, request threads read

    def _words(self, text: str, lookup: bool = False) -> list[set[int]]:
        # A lookup leaves out the nouns the guard may drop as mere classes ("which city is the capital"), "people" and
        # "number" (cache/guard.py's may_go_unmatched): they need no match.
        words = parse(text, self.lex)
        return [
            word_keys(word, self.lex)
            for (word, _), classifier in zip(words.content, words.classifier, strict=True)
            if not lookup or not (classifier or may_go_unmatched(word, words, self.lex))
        ]

    def add(self, namespace: str, number: int, text: str) -> None:
        keys = set().union(*self._words(text))
        with self._lock:
            self._namespaces.setdefault(namespace, _Namespace()).add(number, keys)

    def remove(self, namespace: str, number: int) -> None:
        with self._lock:
            space = self._namespaces.get(namespace)
            if space is not None:
                space.remove(number)
                if not space.entries:
                    del self._namespaces[namespace]

    def drop(self, namespace: str) -> None:
        with self._lock:
            self._namespaces.pop(namespace, None)

    def clear(self) -> None:
        with self._lock:
            self._namespaces.clear()

    def could_hit(self, namespace: str, text: str) -> bool:
        """False only when no entry of ``namespace`` holds a key of each content word of ``text``."""
        words = self._words(text, lookup=True)
        with self._lock:
            space = self._namespaces.get(namespace)
            if space is None or not space.entries:
                return False
            candidates: BitMap | None = None  # None: every entry, before the first word
            for keys in sorted(words, key=len):
                found = [space.keys[key] for key in keys if key in space.keys]
                holders = BitMap.union(*found) if found else BitMap()
                candidates = holders if candidates is None else candidates & holders
                if not candidates:
                    return False
        return True  # also for a text without content words: the guard decides on the small words alone
