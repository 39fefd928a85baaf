"""The cache as the API and the workers use it: look up before enqueueing, record after success.

The API computes a request's keys, looks up the exact tier (one Redis round trip),
then, for greedy requests, the semantic tier (embed, search this process's index,
re-check the best candidates against Redis and the rule, cache/guard.py). On a miss it
hands the job a :class:`Ticket` (keys and embedding); the worker that completes the
job successfully records the answer under it, so the embedding is computed once,
and failed or cancelled jobs are never cached. A request whose words no entry of its namespace
has (cache/word_filter.py) cannot hit, so it skips the embedding (16 of the 22 ms of a submit
on the API's one CPU thread) and an API process embeds its entry later, in the background
(cache/index_sync.py).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from cache.embedder import Embedder
from cache.guard import pipeline, why_different
from cache.index import VectorIndex
from cache.index_sync import IndexSync
from cache.keys import CacheKeys
from cache.store import CacheStore, Entry, encode_vector
from cache.word_filter import WordFilter

log = logging.getLogger(__name__)

CANDIDATES = 3  # nearest neighbours re-checked per semantic lookup
MODES = ("off", "exact", "semantic")  # how strict the cache is for a request, strictest first


class CacheConfig(Protocol):
    """What the cache reads of its configuration (``app.config.CacheConfig``, built from the environment there):
    the cache imports nothing of ``app``."""

    enabled: bool
    semantic: bool
    threshold: float
    sampled: bool
    tenant_modes: Mapping[str, str]  # tenant -> off | exact | semantic


@dataclass(frozen=True)
class Hit:
    tier: str  # "exact" or "semantic"
    similarity: float
    entry: Entry


@dataclass(frozen=True)
class Ticket:
    exact: str
    namespace: str
    text: str
    vector: str | None  # base64 float32 embedding; None when the semantic tier does not apply (or embeds later)
    embed_later: bool = False  # the lookup skipped the embedding: an API process embeds the recorded entry

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Ticket:
        return cls(**json.loads(text))


@dataclass
class CacheStats:
    """Plain counters; the metrics module turns them into Prometheus series."""

    lookups: dict[str, int] = field(default_factory=lambda: {"exact_hit": 0, "semantic_hit": 0, "miss": 0, "skipped": 0, "error": 0})
    refused: dict[str, int] = field(default_factory=dict)  # semantic candidates the rule turned down, by reason


class ResultCache:
    def __init__(
        self,
        config: CacheConfig,
        store: CacheStore,
        embedder: Embedder | None = None,
        index: VectorIndex | None = None,
        sync: IndexSync | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.embedder = embedder
        self.index = index
        self.sync = sync
        self.stats = CacheStats()
        self.semantic_on = config.enabled and config.semantic  # the `semantic_cache` rollback switch
        self._loading = threading.Lock()

    def set_semantic(self, on: bool) -> None:
        """The `semantic_cache` switch: off at once; on loads the embedder and index first if this
        process started without them (exact hits go on meanwhile)."""
        self.semantic_on = on and self.config.enabled
        if self.semantic_on and self.embedder is None and self._loading.acquire(blocking=False):
            threading.Thread(target=self._load_semantic, name="llmjobs-cache-load", daemon=True).start()

    def _load_semantic(self) -> None:
        try:
            pipeline()  # the rule's English pipeline (about a second), loaded now rather than on the first lookup
            index, embedder = VectorIndex(), Embedder()
            self.index, self.sync = index, IndexSync(self.store, index, embedder.embed_many, WordFilter()).start()
            self.embedder = embedder
        finally:
            self._loading.release()

    @classmethod
    def for_api(cls, config: CacheConfig, store: CacheStore) -> ResultCache:
        cache = cls(config, store)
        if config.enabled and config.semantic:  # at start, rather than on the first semantic lookup
            cache._loading.acquire()
            cache._load_semantic()
        return cache

    def mode_for(self, tenant: str, requested: str | None = None) -> str:
        """The strictest of the server's mode, the tenant's (``LLMJOBS_CACHE_TENANT_MODES``) and the request's."""
        server = "off" if not self.config.enabled else "semantic" if self.config.semantic else "exact"
        modes = [server, self.config.tenant_modes.get(tenant, "semantic"), requested or "semantic"]
        return min(modes, key=MODES.index)

    def applies(self, keys: CacheKeys) -> bool:
        return self.config.enabled and (keys.deterministic or self.config.sampled)

    def lookup(self, keys: CacheKeys, semantic: bool = True) -> tuple[Hit | None, Ticket]:
        """The cached answer for ``keys`` if any, and the ticket to record a fresh one under;
        ``semantic=False`` (mode ``exact``) consults the exact tier only.

        Raises ``redis.RedisError`` when Redis fails; the caller then goes on without the cache.
        """
        ticket = Ticket(keys.exact, keys.namespace, keys.text or "", None)
        entry = self.store.get_exact(keys.exact)
        if entry is not None:
            self.stats.lookups["exact_hit"] += 1
            return Hit("exact", 1.0, entry), ticket
        if not (semantic and self._semantic_applies(keys)):
            self.stats.lookups["miss"] += 1
            return None, ticket
        assert self.embedder is not None and self.index is not None and self.sync is not None and keys.text is not None
        words = self.sync.words
        if not self.index.has(keys.namespace) or (words is not None and not words.could_hit(keys.namespace, keys.text)):
            # No entry could pass the rule: no embedding on the request's path.
            self.stats.lookups["miss"] += 1
            return None, Ticket(keys.exact, keys.namespace, keys.text, None, embed_later=True)
        vector = self.embedder.embed(keys.text)
        if vector is None:  # longer than the embedder's window: exact tier only
            self.stats.lookups["miss"] += 1
            return None, ticket
        ticket = Ticket(keys.exact, keys.namespace, keys.text, encode_vector(vector))
        hit = self._nearest(keys, vector)
        self.stats.lookups["semantic_hit" if hit else "miss"] += 1
        return hit, ticket

    def _semantic_applies(self, keys: CacheKeys) -> bool:
        return (
            self.semantic_on
            and self.embedder is not None
            and self.sync is not None
            and self.sync.ready.is_set()
            and keys.text is not None
            and (keys.greedy or self.config.sampled)
        )

    def _nearest(self, keys: CacheKeys, vector: Any) -> Hit | None:
        assert self.index is not None
        candidates = [(n, s) for n, s in self.index.search(keys.namespace, vector, CANDIDATES) if s >= self.config.threshold]
        if not candidates:
            return None
        entries = self.store.get_many([n for n, _ in candidates])
        for (number, similarity), entry in zip(candidates, entries, strict=True):
            if entry is None or entry.namespace != keys.namespace:
                self.index.remove(keys.namespace, number)  # expired or evicted: forget it here too
                continue
            try:
                reason = why_different(entry.text, keys.text or "")
            except Exception:  # a guard that cannot decide refuses: a miss costs a generation, a wrong answer more
                log.exception("the semantic cache's guard failed on a candidate; refused")
                reason = "the guard failed"
            if reason is not None:
                self.stats.refused[reason] = self.stats.refused.get(reason, 0) + 1
                continue
            return Hit("semantic", round(similarity, 4), entry)
        return None

    def record(self, ticket: Ticket, *, output: str, finish_reason: str, completion_tokens: int, token_ids: list[int]) -> int:
        """Store a successful job's answer (worker side); returns the entry number, 0 if already cached."""
        answer = {"output": output, "finish_reason": finish_reason, "completion_tokens": completion_tokens, "token_ids": token_ids}
        return self.store.insert(
            namespace=ticket.namespace,
            exact=ticket.exact,
            text=ticket.text,
            answer=answer,
            vector=ticket.vector,
            embed_later=ticket.embed_later,
        )
