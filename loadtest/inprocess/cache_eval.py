"""Evaluate the semantic cache on pairs it was not written for (``python -m loadtest.inprocess.cache_eval``).

- ``pairs``: false-hit rate (near misses served another question's answer) and paraphrase recall
  of the semantic tier (embedding threshold + word alignment) on the generated pairs of
  ``loadtest/inprocess/cache_pairs.py``, for the dev part (tuned on) and the test part (reported),
  on three sets written later by others (``cache_fresh.py``: tuned on since 2026-11-30's fourth session;
  ``cache_fresh2.py``, ``cache_fresh3.py``: reported, never tuned on) and on ``cache_dev2.py`` (a second
  development set of heavy rewordings), with 95 % Wilson intervals; by category; and what each alignment
  rule costs: each one switched off in turn, and the embedding threshold alone.
  The ``adversarial`` split (near misses written to break the rules) and the ``structure`` splits are read from
  ``loadtest/inprocess/data/``.
- ``duplicates``: the hit rate of the ``duplicates`` workload sent one request at a time through the
  real ResultCache on a real Redis (an answer is recorded after each miss, as the worker would).

``--lookup`` adds ``cache_bench``'s lookup latency at 1k/10k/100k entries.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from dataclasses import asdict, replace
from importlib.resources import files
from pathlib import Path

from scipy.stats import binomtest

from loadtest.inprocess.cache_dev2 import dev2_pairs
from loadtest.inprocess.cache_fresh import fresh_pairs
from loadtest.inprocess.cache_fresh2 import fresh2_pairs
from loadtest.inprocess.cache_fresh3 import fresh3_pairs
from loadtest.inprocess.cache_pairs import pairs
from loadtest.report import write_json
from loadtest.stats import percentile

RULES_OFF = ("numbers", "function_words", "relations", "roles", "question_words", "tense", "person", "generic_person", "names", "degree",
             "classifiers", "derived", "frame_verbs", "both_ways", "structure")  # fmt: skip
SPLITS = ("dev", "test", "fresh", "fresh2", "fresh3", "dev2", "adversarial", "structure", "structure_dev2", "structure_test")


def rate(hits: int, total: int) -> dict:
    """Share with its 95 % Wilson interval (scipy's)."""
    if total == 0:
        return {"n": 0}
    ci = binomtest(hits, total).proportion_ci(confidence_level=0.95, method="wilson")
    return {"rate": round(hits / total, 4), "hits": hits, "n": total, "ci95": [round(ci.low, 4), round(ci.high, 4)]}


def adversarial_pairs() -> list[dict]:
    """592 near misses written by a reviewer who read the guard's rules to break them (split ``adversarial``): each
    pair is a question a user could ask and whose answer differs, aimed at one rule (its ``category``)."""
    return _data_pairs("cache_adversarial.jsonl")


def structure_pairs() -> list[dict]:
    """Paraphrases and near misses that keep or change who does what to whom (voice, possession, I/you, modality, clauses,
    progressive), written by three helpers who had not seen the guard: splits ``structure`` and ``structure_dev2`` to tune
    the parse's checks on (cache/structure.py), split ``structure_test`` reported, never tuned on."""
    # in the order written: a pair a later set repeats counts in the earlier one (all_pairs)
    return _data_pairs("cache_structure_dev.jsonl") + _data_pairs("cache_structure_test.jsonl") + _data_pairs("cache_structure_dev2.jsonl")


def _data_pairs(name: str) -> list[dict]:
    text = (files("loadtest.inprocess") / "data" / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def all_pairs() -> list[dict]:
    """Every set in the order it was written; a pair a later set repeats by chance counts in the earlier one only
    (cache_fresh3 repeats 23 pairs of the first set and 2 of cache_fresh: "Explain recursion in one sentence." / "... in detail.")."""
    seen: set[tuple[str, str]] = set()
    rows = []
    for row in pairs() + fresh_pairs() + fresh2_pairs() + fresh3_pairs() + dev2_pairs() + adversarial_pairs() + structure_pairs():
        if (row["a"], row["b"]) not in seen:
            seen.add((row["a"], row["b"]))
            rows.append(row)
    return rows


def evaluate(rows: list[dict], similarity: dict, threshold: float, rules) -> dict:
    from cache.guard import why_different

    hits = {"paraphrase": 0, "near_miss": 0}
    totals = {"paraphrase": 0, "near_miss": 0}
    false_hits = []
    for row in rows:
        totals[row["label"]] += 1
        hit = similarity[(row["a"], row["b"])] >= threshold and (rules is None or why_different(row["a"], row["b"], rules) is None)
        hits[row["label"]] += hit
        if hit and row["label"] == "near_miss":
            false_hits.append([row["a"], row["b"]])
    return {
        "false_hit": rate(hits["near_miss"], totals["near_miss"]),
        "recall": rate(hits["paraphrase"], totals["paraphrase"]),
        "false_hits": false_hits,
    }


def guard_timing(rows: list[dict]) -> dict:
    """Time of one guard decision (``why_different``) per pair, WordNet and the parser already loaded but no prompt parsed
    yet (the parse's cache cleared): ``all`` pairs, and those that reached the parse (``parsed``: one or two parses)."""
    from cache.guard import why_different
    from cache.lexicon import lexicon
    from cache.structure import pipeline, structure

    lexicon()
    pipeline()
    structure.cache_clear()
    timings, parsed = [], []
    for row in rows:
        misses = structure.cache_info().misses
        started = time.perf_counter()
        why_different(row["a"], row["b"])
        timings.append((time.perf_counter() - started) * 1000)
        if structure.cache_info().misses > misses:
            parsed.append(timings[-1])
    return {**_spread(timings), "parsed": {"n": len(parsed), **_spread(parsed)}}


def _spread(timings: list[float]) -> dict:
    return {"p50": round(percentile(timings, 50), 3), "p95": round(percentile(timings, 95), 3), "max": round(max(timings), 3)}


def pair_report(threshold: float, thresholds: list[float]) -> dict:
    from cache.embedder import Embedder
    from cache.guard import Rules

    rows = all_pairs()
    embedder = Embedder()
    texts = sorted({t for row in rows for t in (row["a"], row["b"])})
    started = time.perf_counter()
    vectors = dict(zip(texts, (embedder.embed(t) for t in texts), strict=True))
    embed_s = time.perf_counter() - started
    similarity = {(r["a"], r["b"]): float(vectors[r["a"]] @ vectors[r["b"]]) for r in rows}
    report: dict = {"pairs": len(rows), "texts": len(texts), "embed_ms_mean": round(1000 * embed_s / len(texts), 2), "threshold": threshold}
    report["guard_ms"] = guard_timing(rows)
    for split in SPLITS:
        part = [r for r in rows if r["split"] == split]
        result = evaluate(part, similarity, threshold, Rules())
        result["by_category"] = {
            category: {
                k: v
                for k, v in evaluate([r for r in part if r["category"] == category], similarity, threshold, Rules()).items()
                if k != "false_hits"
            }
            for category in sorted({r["category"] for r in part})
        }
        result["embedding_only"] = {k: v for k, v in evaluate(part, similarity, threshold, None).items() if k != "false_hits"}
        result["rule_off"] = {}
        for name in (*RULES_OFF, "synonyms"):
            rules = replace(Rules(), sense_depth=0) if name == "synonyms" else replace(Rules(), **{name: False})
            off = evaluate(part, similarity, threshold, rules)
            result["rule_off"][name] = {"recall": off["recall"].get("rate"), "false_hit": off["false_hit"].get("rate")}
        result["thresholds"] = {
            str(t): {k: v.get("rate") for k, v in evaluate(part, similarity, t, Rules()).items() if k != "false_hits"} for t in thresholds
        }
        report[split] = result
    report["rules"] = asdict(Rules())
    return report


def duplicates(redis_url: str, threshold: float) -> dict:
    """Hit rate of the duplicates workload, one request at a time, through ResultCache on real Redis."""
    import redis

    from app.config import CacheConfig
    from cache.embedder import Embedder
    from cache.index import VectorIndex
    from cache.index_sync import IndexSync
    from cache.keys import cache_keys
    from cache.lexicon import lexicon
    from cache.result_cache import ResultCache
    from cache.store import CacheStore
    from cache.word_filter import WordFilter
    from loadtest.workloads import load

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = f"llmjobs-eval-{uuid.uuid4().hex[:8]}"
    config = CacheConfig(enabled=True, semantic=True, threshold=threshold, ttl_s=600, max_entries=1000, sampled=False)
    store = CacheStore(client, prefix, ttl_s=600, max_entries=1000)
    index = VectorIndex()
    embedder = Embedder()
    # as ResultCache.for_api builds it, without the thread: entries recorded without a vector are embedded here
    sync = IndexSync(store, index, embedder.embed_many, WordFilter(lexicon().read_synsets()))
    sync.load()
    cache = ResultCache(config, store, embedder, index, sync)
    sampling = {"max_tokens": 64, "temperature": 0.0, "top_p": 1.0, "top_k": 0, "stop": [], "seed": None, "ignore_eos": False}
    tiers = {"exact": 0, "semantic": 0, "miss": 0}
    try:
        for item in load("duplicates", seed=0):
            text = item["messages"][-1]["content"]
            keys = cache_keys(request=item, prompt_ids=[ord(c) for c in text], sampling=sampling, tenant="eval", model_id="eval")
            hit, ticket = cache.lookup(keys)
            if hit is None:
                tiers["miss"] += 1
                cache.record(ticket, output=f"answer to {text}", finish_reason="stop", completion_tokens=1, token_ids=[1])
                while sync.poll(block_ms=None):  # an entry, then its late vector
                    pass
            else:
                tiers[hit.tier] += 1
    finally:
        for key in client.scan_iter(match=prefix + ":*", count=1000):
            client.unlink(key)
    total = sum(tiers.values())
    return {"requests": total, **tiers, "hit_rate": round((tiers["exact"] + tiers["semantic"]) / total, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.inprocess.cache_eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--threshold", type=float, help="default: LLMJOBS_CACHE_THRESHOLD's default")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.7, 0.75, 0.8, 0.85, 0.9])
    parser.add_argument("--lookup", action="store_true", help="also time lookups at 1k/10k/100k entries (about 3 minutes)")
    parser.add_argument("--no-duplicates", action="store_true")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    from app.config import ENV_VARS

    threshold = args.threshold if args.threshold is not None else float(ENV_VARS["LLMJOBS_CACHE_THRESHOLD"][0])
    report: dict = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "pairs": pair_report(threshold, args.thresholds)}
    for split in SPLITS:
        part = report["pairs"][split]
        print(split, json.dumps({"false_hit": part["false_hit"], "recall": part["recall"]}), flush=True)
    if not args.no_duplicates:
        report["duplicates"] = duplicates(args.redis_url, threshold)
        print("duplicates", json.dumps(report["duplicates"]), flush=True)
    if args.lookup:
        from loadtest.inprocess.cache_bench import lookup

        report["lookup"] = lookup(args.redis_url, [1000, 10_000, 100_000], 500)
    if args.out:
        write_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
