"""KV of prompt prefixes seen before, reused instead of recomputed (LRU within a token budget).

Prompts are cut into blocks of ``block_size`` tokens; every block boundary of a
stored prompt is indexed by its token prefix, so a new prompt finds the longest
stored prefix it shares (the chat template's system prompt, a long shared
instruction, a repeated question) in one dictionary probe per boundary, then
extends it token by token into that prompt's next block. The index is plain
Python; the values are the model's per-layer key/value tensors. Each LoRA adapter has its own
namespace (its digest): the same tokens under another adapter have other keys and values.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Entry:
    tokens: tuple[int, ...]
    namespace: str | None  # the LoRA adapter whose KV this is (None: the base model)
    kv: list[tuple[Any, Any]]  # per layer: keys, values of shape (1, H_kv, len(tokens), D)
    boundaries: list[tuple[str | None, tuple[int, ...]]] = field(default_factory=list)


class PrefixCache:
    def __init__(self, *, block_size: int = 16, max_tokens: int = 8192, to_the_token: bool = True) -> None:
        assert block_size > 0 and max_tokens >= 0
        self.block_size = block_size
        self.to_the_token = to_the_token  # False: reuse stops at the last whole block (the benchmark's baseline)
        self.max_tokens = max_tokens
        self._index: dict[tuple[str | None, tuple[int, ...]], _Entry] = {}  # (namespace, prefix) -> entry
        self._entries: OrderedDict[tuple[str | None, tuple[int, ...]], _Entry] = OrderedDict()  # least recently used first
        self.num_tokens = 0
        self.num_hits = 0  # prompts that reused a stored prefix
        self.num_queries = 0
        self.num_hit_tokens = 0
        self.enabled = max_tokens > 0  # the `prefix_cache` rollback switch (set between engine steps)

    def clear(self) -> None:
        self._index.clear()
        self._entries.clear()
        self.num_tokens = 0

    def longest(self, tokens: list[int], namespace: str | None = None) -> int:
        """Length of the longest stored prefix of ``tokens`` that leaves at least one token to compute.

        Found by whole blocks, then extended token by token into the stored prompt's next
        block: chat prompts share their template to the token, not to the block (SmolLM2's is
        31 tokens, of which whole 16-token blocks would reuse only 16), and on a short chat
        prompt those tokens are most of the prefill."""
        return self._match(tokens, namespace)[1] if self.enabled else 0

    def get(self, tokens: list[int], length: int, namespace: str | None = None) -> list[tuple[Any, Any]]:
        """Per-layer (keys, values) of the first ``length`` tokens (at most what :meth:`longest` found)."""
        entry, shared = self._match(tokens, namespace)
        if entry is None or shared < length:
            raise KeyError(f"no stored prefix of {length} tokens")
        self._entries.move_to_end((namespace, entry.tokens))
        return [(k[:, :, :length], v[:, :, :length]) for k, v in entry.kv]

    def _match(self, tokens: list[int], namespace: str | None) -> tuple[_Entry | None, int]:
        """The entry at the longest whole-block boundary ``tokens`` share, and how far it agrees
        with them (leaving at least one token)."""
        limit = len(tokens) - 1
        for aligned in range((limit // self.block_size) * self.block_size, 0, -self.block_size):
            entry = self._index.get((namespace, tuple(tokens[:aligned])))
            if entry is not None:
                length, end = aligned, min(len(entry.tokens), limit) if self.to_the_token else aligned
                while length < end and entry.tokens[length] == tokens[length]:
                    length += 1
                return entry, length
        return None, 0

    def record(self, hit_tokens: int) -> None:
        self.num_queries += 1
        if hit_tokens:
            self.num_hits += 1
            self.num_hit_tokens += hit_tokens

    def wants(self, tokens: list[int], namespace: str | None = None) -> bool:
        """Whether :meth:`put` would store something new for this prompt (so callers can skip extracting its KV)."""
        length = (len(tokens) // self.block_size) * self.block_size
        return self.enabled and 0 < length <= self.max_tokens and (namespace, tuple(tokens[:length])) not in self._entries

    def put(self, tokens: list[int], kv: list[tuple[Any, Any]], namespace: str | None = None) -> None:
        """Store the whole blocks of a prompt whose KV was just computed (``kv`` covers ``tokens``)."""
        if not self.wants(tokens, namespace):
            return
        length = (len(tokens) // self.block_size) * self.block_size
        key = tuple(tokens[:length])
        entry = _Entry(tokens=key, namespace=namespace, kv=[(k[:, :, :length].clone(), v[:, :, :length].clone()) for k, v in kv])
        for boundary in range(self.block_size, length + 1, self.block_size):
            prefix = (namespace, key[:boundary])
            entry.boundaries.append(prefix)
            self._index[prefix] = entry  # the newest entry serves a shared prefix
        self._entries[(namespace, key)] = entry
        self.num_tokens += length
        while self.num_tokens > self.max_tokens:
            self._evict()

    def _evict(self) -> None:
        _, entry = self._entries.popitem(last=False)
        self.num_tokens -= len(entry.tokens)
        for prefix in entry.boundaries:
            if self._index.get(prefix) is entry:
                del self._index[prefix]
                # another stored prompt may share this prefix: let it serve it again
                for other in reversed(self._entries.values()):
                    if other.namespace == prefix[0] and other.tokens[: len(prefix[1])] == prefix[1]:
                        self._index[prefix] = other
                        break
