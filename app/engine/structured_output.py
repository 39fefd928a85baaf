"""Structured output inside the batching engine, in vLLM v1's shape: a manager beside the scheduler.

A request's grammar is compiled in its caller's thread (off the step loop) into a matcher, from a template cached
by the spec's digest (a bounded LRU: a repeated schema costs a copy, not a compile). Each step then asks every
constrained row's matcher for its allowed tokens at once (llguidance's thread pool writes one bitmask for the
batch) and masks those rows' logits before sampling; the sampler knows nothing of grammars. A row's matcher
consumes each token the row gets. Preemption needs no rollback: a preempted row is recomputed from its prompt and
the tokens it already has, which its matcher has consumed; speculative decoding is off for constrained rows
(``SamplingParams.is_plain``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import llguidance
import llguidance.hf
import numpy as np
import torch

from app.errors import InvalidRequestError
from app.structured.spec import OutputSpec

CACHE_SIZE = 256  # compiled grammars kept (by digest)


class StructuredOutputs:
    def __init__(self, tokenizer: Any, vocab_size: int, cache_size: int = CACHE_SIZE, threads: int = 2) -> None:
        self.hf_tokenizer = tokenizer
        self.vocab_size = vocab_size  # the logits' width (the model's vocabulary, padding included)
        self.cache_size = cache_size
        self._tokenizer: llguidance.LLTokenizer | None = None  # built at the first constrained request (~0.3 s)
        self._templates: OrderedDict[str, llguidance.LLMatcher] = OrderedDict()
        self._lock = threading.Lock()
        self.threads = threads
        self._executor: llguidance.LLExecutor | None = None  # its threads start with the first constrained request
        self.num_compiled = 0

    def matcher(self, spec_json: str, consumed: list[int]) -> llguidance.LLMatcher:
        """A fresh matcher for the spec, past the ``consumed`` tokens (a resumed job's). Called in the request's
        own thread; raises InvalidRequestError for a grammar that does not compile or tokens it refuses."""
        digest = hashlib.sha256(spec_json.encode()).hexdigest()
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = llguidance.hf.from_tokenizer(self.hf_tokenizer, n_vocab=self.vocab_size)
                self._executor = llguidance.LLExecutor(num_threads=self.threads)
            template = self._templates.get(digest)
            if template is not None:
                self._templates.move_to_end(digest)
        if template is None:
            template = llguidance.LLMatcher(self._tokenizer, OutputSpec.from_json(spec_json).grammar())
            if template.is_error():
                raise InvalidRequestError("response_format", f"the output constraint cannot be enforced: {template.get_error()}")
            with self._lock:
                self._templates[digest] = template
                self.num_compiled += 1
                while len(self._templates) > self.cache_size:
                    self._templates.popitem(last=False)
        matcher = template.deep_copy()
        if consumed and not matcher.consume_tokens(consumed):
            raise InvalidRequestError("response_format", f"the tokens already produced do not fit the constraint: {matcher.get_error()}")
        return matcher

    def mask(self, logits: torch.Tensor, seqs: list[Any]) -> None:
        """logits: (B, V), one row per sequence; the rows of constrained sequences keep only their allowed tokens."""
        rows = [row for row, seq in enumerate(seqs) if seq.matcher is not None and not seq.is_finished]
        if not rows:
            return
        words = (self.vocab_size + 31) // 32
        bitmask = torch.full((len(rows), words), -1, dtype=torch.int32)
        self._executor.unsafe_compute_mask_ptr(
            [(seqs[row].matcher, i) for i, row in enumerate(rows)], bitmask.data_ptr(), words * 4, len(rows)
        )
        # (R, words) int32 -> (R, 32 * words) bits, least significant first: token t is bit t % 32 of word t // 32
        allowed = np.unpackbits(bitmask.numpy().view(np.uint8), axis=1, bitorder="little")[:, : logits.shape[1]]
        index = torch.tensor(rows)
        logits[index] = logits[index].masked_fill(torch.from_numpy(allowed) == 0, float("-inf"))

    @staticmethod
    def accept(seq: Any, token: int) -> None:
        """The row got ``token``: its matcher moves past it (a token it refused ends the row's constraint)."""
        if seq.matcher is not None and not seq.matcher.is_stopped():
            seq.matcher.consume_token(token)
