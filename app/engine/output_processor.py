"""Turns a stream of generated token ids into text deltas, honouring stop strings.

Written by hand because transformers' streamers only print or queue whole words
and know nothing of stop strings that must be cut from the text, and the
tokenizers library has no incremental decoder for byte-level BPE. The
detokenizing follows the prefix/read offset scheme of TGI and vLLM: decode a
short window, emit only what the newest token added, and hold back a trailing
U+FFFD (half of a multi-byte character) until the next token completes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

REPLACEMENT_CHAR = "\ufffd"


class Decoder(Protocol):
    def decode(self, token_ids: list[int], skip_special_tokens: bool = ...) -> str: ...


class OutputProcessor:
    """Per-request output state: token ids, text, and whether and why it finished."""

    def __init__(self, decoder: Decoder, *, stop: Iterable[str] = (), eos_token_ids: Iterable[int] = (), max_tokens: int) -> None:
        self.decoder = decoder
        self.stop = tuple(stop)
        self.eos_token_ids = frozenset(eos_token_ids)
        self.max_tokens = max_tokens
        self.token_ids: list[int] = []
        self.finish_reason: str | None = None
        self._text = ""  # everything decoded so far, stop strings included
        self._num_emitted = 0  # characters of _text already handed out
        self._text_end: int | None = None  # where the final text ends (before a stop string)
        self._prefix_offset = 0
        self._read_offset = 0

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    @property
    def text(self) -> str:
        """The output text, without any stop string."""
        return self._text if self._text_end is None else self._text[: self._text_end]

    def append(self, token_id: int) -> str:
        """Add one generated token; return the new text that may be shown now."""
        assert not self.finished, "append after finish"
        self.token_ids.append(token_id)
        if token_id in self.eos_token_ids:
            self.finish_reason = "stop"
            return self._flush()
        self._text += self._decode_new()
        if self.stop and self._find_stop():
            return self._flush()
        if len(self.token_ids) >= self.max_tokens:
            self.finish_reason = "length"
            return self._flush()
        return self._emit(len(self._text) - self._stop_holdback())

    def finish(self, reason: str) -> str:
        """End the output early (e.g. cancelled); return any text still held back."""
        if self.finish_reason is None:
            self.finish_reason = reason
        return self._flush()

    def _decode_new(self) -> str:
        ids = self.token_ids
        prefix = self.decoder.decode(ids[self._prefix_offset : self._read_offset], skip_special_tokens=True)
        full = self.decoder.decode(ids[self._prefix_offset :], skip_special_tokens=True)
        if full.endswith(REPLACEMENT_CHAR) or len(full) <= len(prefix):
            return ""  # an unfinished multi-byte character: wait for the next token
        self._prefix_offset = self._read_offset
        self._read_offset = len(ids)
        return full[len(prefix) :]

    def _find_stop(self) -> bool:
        # Only the tail can hold a new match: the part before it was checked already.
        longest = max(len(s) for s in self.stop)
        start = max(0, self._num_emitted - longest)
        hits = [pos for pos in (self._text.find(s, start) for s in self.stop) if pos >= 0]
        if not hits:
            return False
        self._text_end = min(hits)
        self.finish_reason = "stop"
        return True

    def _stop_holdback(self) -> int:
        """Length of the longest text tail that could still grow into a stop string."""
        best = 0
        for s in self.stop:
            for n in range(min(len(s) - 1, len(self._text)), best, -1):
                if self._text.endswith(s[:n]):
                    best = n
                    break
        return best

    def _flush(self) -> str:
        return self._emit(len(self.text))

    def _emit(self, upto: int) -> str:
        if upto <= self._num_emitted:
            return ""
        delta = self._text[self._num_emitted : upto]
        self._num_emitted = upto
        return delta
