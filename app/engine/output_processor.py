"""Turns a stream of generated token ids into text deltas, honouring stop strings.

Detokenizing is the tokenizers library's ``DecodeStream`` (as in vLLM v1): one step per token,
which holds back half of a multi-byte character until the next token completes it. The stop
strings are ours: transformers' streamers know nothing of stop strings that must be cut from the
text, nor of holding back a tail that may still grow into one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream


class OutputProcessor:
    """Per-request output state: token ids, text, and whether and why it finished."""

    def __init__(
        self,
        tokenizer: Any,
        *,
        stop: Iterable[str] = (),
        eos_token_ids: Iterable[int] = (),
        max_tokens: int,
        min_tokens: int = 0,
        skip_special_tokens: bool = True,
        include_stop_str_in_output: bool = False,
    ) -> None:
        # A transformers fast tokenizer wraps a tokenizers.Tokenizer; tests may pass one directly.
        self._tokenizer: Tokenizer = tokenizer if isinstance(tokenizer, Tokenizer) else tokenizer.backend_tokenizer
        self._stream = DecodeStream(skip_special_tokens=skip_special_tokens)
        self.stop = tuple(stop)
        self.min_tokens = min_tokens  # no stop string ends the output before this many tokens (as in vLLM)
        self.include_stop_str_in_output = include_stop_str_in_output
        self.eos_token_ids = frozenset(eos_token_ids)
        self.max_tokens = max_tokens
        self.token_ids: list[int] = []
        self.finish_reason: str | None = None
        self._text = ""  # everything decoded so far, stop strings included
        self._num_emitted = 0  # characters of _text already handed out
        self._text_end: int | None = None  # where the final text ends (before a stop string)
        self._stop_floor = 0  # stop strings are searched from here on (min_tokens)

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
        self._text += self._stream.step(self._tokenizer, token_id) or ""
        if len(self.token_ids) < self.min_tokens:  # the first min_tokens - 1 tokens' text holds no stop string
            self._stop_floor = len(self._text)
        if self.stop and len(self.token_ids) >= self.min_tokens and self._find_stop():
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

    def _find_stop(self) -> bool:
        # Only the tail can hold a new match: the part before it was checked already.
        longest = max(len(s) for s in self.stop)
        start = max(self._stop_floor, self._num_emitted - longest)
        hits = [(pos, pos + len(s)) for s, pos in ((s, self._text.find(s, start)) for s in self.stop) if pos >= 0]
        if not hits:
            return False
        begin, end = min(hits)
        self._text_end = end if self.include_stop_str_in_output else begin
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
