"""The cache's Redis store and index sync against the tests' real Redis: TTL, the bound,
corrupt entries, two processes' indexes, and what happens when Redis is gone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from unittest import mock

import numpy as np
import pytest
import redis

from app.config import CacheConfig
from app.jobs.admission import admit
from app.jobs.store import JobStore
from app.redis_conn import Keys
from cache.index import VectorIndex
from cache.index_sync import IndexSync
from cache.keys import CacheKeys
from cache.result_cache import ResultCache
from cache.store import CacheStore, encode_vector
from cache.word_filter import WordFilter
from tests.helpers.waiting import wait_until


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def client(redis_server) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()  # its pool's sockets, before the garbage collector finds them open


def store_for(client, ttl_s=60, max_entries=20) -> CacheStore:
    return CacheStore(client, f"cachetest-{uuid.uuid4().hex[:8]}", ttl_s=ttl_s, max_entries=max_entries)


def insert(store: CacheStore, i: int, namespace="ns") -> int:
    return store.insert(
        namespace=namespace, exact=f"x{i}", text=f"question {i}", answer={"output": f"answer {i}"}, vector=encode_vector(unit(i))
    )


def keys_in(client, store: CacheStore, kind: str) -> int:
    return sum(1 for _ in client.scan_iter(match=f"{store.base}{kind}:*", count=1000))


def test_entries_expire_with_their_ttl(client):
    store = store_for(client, ttl_s=1)
    number = insert(store, 1)
    assert store.get_exact("x1").answer["output"] == "answer 1"
    for key in (store.entry_key(number), store.exact_key("x1"), store.namespace_key("ns")):
        assert 0 < client.pttl(key) <= 1000, key  # every key carries the TTL

    def all_gone() -> bool:
        return keys_in(client, store, "e") == keys_in(client, store, "x") == keys_in(client, store, "ns") == 0

    wait_until(all_gone, 5, what="the entry's keys to expire")
    assert store.get_exact("x1") is None


def test_the_bound_holds_under_ten_times_its_size_and_indexes_follow(client):
    store = store_for(client, max_entries=20)
    index = VectorIndex()
    sync = IndexSync(store, index)
    sync.load()
    for i in range(200):
        insert(store, i)
    while sync.poll():
        pass
    assert client.zcard(store.namespace_key("ns")) == 20
    assert keys_in(client, store, "e") == keys_in(client, store, "x") == 20
    assert len(index) == 20
    assert store.get_exact("x199") is not None and store.get_exact("x0") is None  # the oldest went first
    # A second process starting now loads the same 20.
    other = VectorIndex()
    IndexSync(store, other).load()
    assert len(other) == 20


def test_a_corrupt_entry_is_ignored_and_deleted(client):
    store = store_for(client)
    number = insert(store, 1)
    client.hset(store.entry_key(number), "answer", "{not json")
    assert store.get_exact("x1") is None
    assert not client.exists(store.entry_key(number)) and not client.exists(store.exact_key("x1"))
    number = insert(store, 2)
    client.hset(store.entry_key(number), "vector", "AAAA")  # a vector of the wrong size
    index = VectorIndex()
    IndexSync(store, index).load()
    assert len(index) == 0 and not client.exists(store.entry_key(number))


def test_semantic_lookup_rechecks_redis_and_the_guard(client):
    store = store_for(client)
    index = VectorIndex()
    sync = IndexSync(store, index)
    sync.load()
    config = CacheConfig(enabled=True, semantic=True, threshold=0.85, ttl_s=60, max_entries=20, sampled=False)
    cache = ResultCache(config, store, None, index, sync)
    store.insert(
        namespace="ns", exact="a", text="What is the capital of France?", answer={"output": "Paris."}, vector=encode_vector(unit(1))
    )
    sync.poll()
    near = unit(1) + 0.01 * unit(2)
    near /= np.linalg.norm(near)
    same = CacheKeys(exact="b", namespace="ns", text="What's the capital of France?", deterministic=True, greedy=True)
    assert cache._nearest(same, near).entry.answer["output"] == "Paris."
    wrong = CacheKeys(exact="c", namespace="ns", text="What is the capital of Germany?", deterministic=True, greedy=True)
    assert cache._nearest(wrong, near) is None and cache.stats.refused
    with mock.patch("cache.result_cache.why_different", side_effect=RuntimeError("a parser bug")):
        assert cache._nearest(same, near) is None  # a guard that fails refuses: no 500, no unchecked answer
    assert cache.stats.refused["the guard failed"] == 1
    other_ns = CacheKeys(exact="d", namespace="other", text="What's the capital of France?", deterministic=True, greedy=True)
    assert cache._nearest(other_ns, near) is None
    client.delete(store.entry_key(1))  # expired behind the index's back: dropped from the index too
    assert cache._nearest(same, near) is None and len(index) == 0


def test_redis_down_skips_the_cache_without_hanging(redis_server):
    dead = redis.Redis.from_url(
        f"redis://127.0.0.1:{_closed_port()}/0", decode_responses=True, socket_connect_timeout=0.5, socket_timeout=0.5
    )
    config = CacheConfig(enabled=True, semantic=False, threshold=0.85, ttl_s=60, max_entries=20, sampled=False)
    cache = ResultCache(config, CacheStore(dead, "gone", ttl_s=60, max_entries=20))
    keys = CacheKeys(exact="e", namespace="ns", text="hi", deterministic=True, greedy=True)
    started = time.monotonic()
    admission = admit(
        cache,
        JobStore(dead, Keys("gone"), 60),
        keys,
        request={"prompt": "hi"},
        tenant="t",
        model="m",
        prompt_tokens=3,
        job_id=str(uuid.uuid4()),
        inflight_ttl_s=60,
    )
    assert admission.job is None and admission.ticket is None
    assert time.monotonic() - started < 3 and cache.stats.lookups["error"] == 1


def _closed_port() -> int:
    from app.cli.embedded_redis import free_port

    return free_port()


def test_an_entry_recorded_without_its_vector_is_embedded_once_in_the_background(client):
    """A lookup in an empty namespace skips the embedding; the recorded entry asks the API
    processes for its vector, and exactly one of two processes embeds it."""
    store = store_for(client)
    config = CacheConfig(enabled=True, semantic=True, threshold=0.85, ttl_s=60, max_entries=20, sampled=False)
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> list[np.ndarray | None]:
        calls.append(texts)
        return [unit(len(text)) if "long" not in text else None for text in texts]

    syncs = [IndexSync(store, VectorIndex(), embed) for _ in range(2)]
    for sync in syncs:
        sync.load()
    cache = ResultCache(config, store, embedder=None, index=syncs[0].index, sync=syncs[0])
    cache.embedder = object()  # present, and never called: the namespace is empty
    keys = CacheKeys(exact="a", namespace="ns", text="What is the capital of France?", deterministic=True, greedy=True)
    hit, ticket = cache.lookup(keys)
    assert hit is None and ticket.vector is None and ticket.embed_later
    cache.record(ticket, output="Paris.", finish_reason="stop", completion_tokens=2, token_ids=[1, 2])
    store.insert(namespace="ns", exact="b", text="a long question", answer={"output": "x"}, vector=None, embed_later=True)
    store.insert(namespace="ns", exact="c", text="exact only", answer={"output": "y"}, vector=None)  # mode exact: never embedded
    for sync in syncs:  # each reads the two `embed` changes; the first claims and embeds both
        sync.poll()
    assert calls == [["What is the capital of France?", "a long question"]]
    for sync in syncs:  # then both read the one vector published
        sync.poll()
        assert [n for n, _ in sync.index.search("ns", unit(len("What is the capital of France?")))] == [1]
    assert client.hget(store.entry_key(2), "vector") == ""  # past the embedder's window: exact-only


def test_the_word_filter_follows_the_store_and_spares_the_embedding(client):
    """Entries' words come from Redis (load and log); a lookup no entry could pass skips its
    embedding even in a namespace that holds entries."""
    store = store_for(client)
    store.insert(
        namespace="ns", exact="a", text="What is the capital of France?", answer={"output": "Paris."}, vector=encode_vector(unit(1))
    )
    sync = IndexSync(store, VectorIndex(), words=WordFilter())
    sync.load()  # the first entry from the load, the second from the log
    store.insert(namespace="ns", exact="b", text="What is photosynthesis?", answer={"output": "..."}, vector=encode_vector(unit(2)))
    sync.poll()
    config = CacheConfig(enabled=True, semantic=True, threshold=0.85, ttl_s=60, max_entries=20, sampled=False)
    embedded: list[str] = []

    class Embedder:
        def embed(self, text: str) -> np.ndarray:
            embedded.append(text)
            return unit(1)

    cache = ResultCache(config, store, Embedder(), sync.index, sync)  # type: ignore[arg-type]
    far = CacheKeys(exact="c", namespace="ns", text="What is the capital of photosynthesis?", deterministic=True, greedy=True)
    hit, ticket = cache.lookup(far)
    assert hit is None and ticket.embed_later and embedded == []
    near = CacheKeys(exact="d", namespace="ns", text="what's the capital of France", deterministic=True, greedy=True)
    hit, _ = cache.lookup(near)
    assert embedded == ["what's the capital of France"] and hit is not None and hit.entry.answer["output"] == "Paris."
