"""Measure the result cache's parts on this machine (``python -m loadtest.inprocess.cache_bench``).

- ``lookup``: a semantic lookup without the embedding (index search, fetching the
  candidates from Redis, the guard reading a reworded prompt) with 1k, 10k and 100k entries in one namespace.
  Vectors are random unit vectors: search cost does not depend on what they encode.

- ``submit``: a semantic lookup as a submit pays it (``ResultCache.lookup`` with the real embedder)
  for new ``distinct_chat`` prompts against a namespace holding other ``distinct_chat`` answers,
  with the word filter (embed only when some entry has the same words) and without it, alternated.

False hits and recall of the semantic tier come from ``python -m loadtest.inprocess.cache_eval``.
The end-to-end figures (exact-hit latency through the API, hit rate and throughput
cache on vs off) come from the HTTP load test, ``python -m loadtest``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from pathlib import Path

import numpy as np

from loadtest.report import write_json
from loadtest.stats import percentile


def lookup(redis_url: str, sizes: list[int], queries: int) -> list[dict]:
    import redis

    from app.config import CacheConfig
    from cache.index import VectorIndex
    from cache.index_sync import IndexSync
    from cache.keys import CacheKeys
    from cache.result_cache import ResultCache
    from cache.store import CacheStore, encode_vector

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    results = []
    rng = np.random.default_rng(0)
    for size in sizes:
        prefix = f"llmjobs-bench-{uuid.uuid4().hex[:8]}"
        config = CacheConfig(enabled=True, semantic=True, threshold=0.85, ttl_s=3600, max_entries=size, sampled=False)
        store = CacheStore(client, prefix, ttl_s=config.ttl_s, max_entries=size)
        vectors = rng.standard_normal((size, 384), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        started = time.perf_counter()
        for start in range(0, size, 1000):
            with client.pipeline(transaction=False) as pipe:
                for i in range(start, min(size, start + 1000)):
                    store._insert(
                        keys=[store.base + "seq", store.exact_key(f"x{i}"), store.namespace_key("ns"), store.log_key],
                        args=[
                            3600,
                            size,
                            "ns",
                            f"x{i}",
                            repr(time.time()),
                            f"What is the capital of country number {i}?",
                            json.dumps({"output": f"answer {i}"}),
                            encode_vector(vectors[i]),
                            1_000_000,
                            store.base + "e:",
                            store.base + "x:",
                        ],
                        client=pipe,
                    )
                pipe.execute()
        insert_s = time.perf_counter() - started
        index = VectorIndex()
        sync = IndexSync(store, index)
        started = time.perf_counter()
        sync.load()
        load_s = time.perf_counter() - started
        cache = ResultCache(config, store, None, index, sync)
        timings, found = [], 0
        for _ in range(queries):
            target = int(rng.integers(size))
            noisy = vectors[target] + 0.01 * rng.standard_normal(384, dtype=np.float32)
            noisy /= np.linalg.norm(noisy)
            # a rewording, so that the guard reads both prompts rather than seeing the same text
            text = f"What's the capital of country number {target}?"
            keys = CacheKeys(exact="", namespace="ns", text=text, deterministic=True, greedy=True)
            started = time.perf_counter()
            hit = cache._nearest(keys, noisy)
            timings.append((time.perf_counter() - started) * 1000)
            found += hit is not None and hit.entry.number == target + 1
        for key in client.scan_iter(match=prefix + ":*", count=1000):
            client.unlink(key)
        results.append(
            {
                "entries": size,
                "lookup_ms": {
                    "p50": round(percentile(timings, 50), 3),
                    "p95": round(percentile(timings, 95), 3),
                    "mean": round(statistics.fmean(timings), 3),
                },
                "found_rate": round(found / queries, 4),
                "queries": queries,
                "insert_s": round(insert_s, 1),
                "index_load_s": round(load_s, 1),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    return results


def submit_lookup(redis_url: str, entries: int, queries: int) -> dict:
    import redis

    from app.config import CacheConfig
    from cache.embedder import Embedder
    from cache.index import VectorIndex
    from cache.index_sync import IndexSync
    from cache.keys import CacheKeys
    from cache.result_cache import ResultCache
    from cache.store import CacheStore, encode_vector
    from cache.word_filter import WordFilter
    from loadtest import workloads

    texts = [item["messages"][-1]["content"] for item in workloads.load("distinct_chat")]
    cached, new = texts[:entries], texts[-queries:]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = f"submitbench-{uuid.uuid4().hex[:8]}"
    store = CacheStore(client, prefix, ttl_s=600, max_entries=entries + 1)
    embedder = Embedder()
    for i, (text, vector) in enumerate(zip(cached, embedder.embed_many(cached), strict=True)):
        store.insert(
            namespace="ns", exact=f"x{i}", text=text, answer={"output": "..."}, vector=encode_vector(vector) if vector is not None else None
        )
    config = CacheConfig(enabled=True, semantic=True, threshold=0.85, ttl_s=600, max_entries=entries + 1, sampled=False)
    caches = {}
    for name, words in (("word filter", WordFilter()), ("always embed", None)):
        sync = IndexSync(store, VectorIndex(), words=words)
        sync.load()
        caches[name] = ResultCache(config, store, embedder, sync.index, sync)
    timings: dict[str, list[float]] = {name: [] for name in caches}
    embedded = dict.fromkeys(caches, 0)
    for i, text in enumerate(new):
        keys = CacheKeys(exact=f"new{i}", namespace="ns", text=text, deterministic=True, greedy=True)
        for name, cache in caches.items():
            started = time.perf_counter()
            _, ticket = cache.lookup(keys)
            timings[name].append((time.perf_counter() - started) * 1000)
            embedded[name] += ticket.vector is not None
    for key in client.scan_iter(match=prefix + ":*", count=1000):
        client.unlink(key)
    result = {
        name: {"p50_ms": round(percentile(t, 50), 3), "p95_ms": round(percentile(t, 95), 3), "embedded": embedded[name]}
        for name, t in timings.items()
    }
    print(json.dumps(result), flush=True)
    return {"entries": entries, "queries": queries, **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.inprocess.cache_bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["lookup", "submit", "all"])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    report: dict = {"when": time.strftime("%Y-%m-%d %H:%M:%S")}
    if args.what in ("lookup", "all"):
        report["lookup"] = lookup(args.redis_url, args.sizes, args.queries)
    if args.what == "submit":
        report["submit"] = submit_lookup(args.redis_url, 960, 64)
    if args.out:
        write_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
