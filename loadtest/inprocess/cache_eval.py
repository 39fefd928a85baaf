"""Evaluate the semantic cache on labelled pairs (``python -m loadtest.inprocess.cache_eval``).

The pairs are data, one set a file: ``loadtest/inprocess/data/cache_<set>.jsonl``, a pair a line with ``a`` (the
cached prompt), ``b`` (the new one), ``label`` (``paraphrase``: the same question, its answer may be served;
``near_miss``: another question) and ``category``. A pair found in an earlier set of ``SETS`` counts there only.

For each set: the false hits (near misses the semantic tier serves) and the recall (paraphrases it serves), each
with its 95 % Wilson interval (scipy), for the tier as it runs (embedding similarity at least the threshold, then
the rule of ``cache/guard.py``) and for the rule alone; by category in the JSON report. Then the hit rate of the
``duplicates`` workload sent one request at a time through the real ResultCache on a real Redis (an answer is
recorded after each miss, as the worker would).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from importlib.resources import files
from pathlib import Path

from scipy.stats import binomtest

from loadtest.report import write_json
from loadtest.stats import percentile

# In the order they were written: the first set (issue 6), issue 18's generated sets, the sets written to break the
# old guard's rules (adversarial, who does what to whom), and the new user's probe of issue 33.
SETS = ("original", "dev", "test", "fresh", "fresh2", "fresh3", "dev2", "adversarial", "structure_dev", "structure_test",
        "structure_dev2", "new_user")  # fmt: skip


def rate(hits: int, total: int) -> dict:
    """Share with its 95 % Wilson interval (scipy's)."""
    if total == 0:
        return {"n": 0}
    ci = binomtest(hits, total).proportion_ci(confidence_level=0.95, method="wilson")
    return {"rate": round(hits / total, 4), "hits": hits, "n": total, "ci95": [round(ci.low, 4), round(ci.high, 4)]}


def read_sets(names: tuple[str, ...] = SETS) -> dict[str, list[dict]]:
    """Each set's pairs, less those an earlier set already holds."""
    seen: set[tuple[str, str]] = set()
    sets = {}
    for name in names:
        text = (files("loadtest.inprocess") / "data" / f"cache_{name}.jsonl").read_text(encoding="utf-8")
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        sets[name] = [row for row in rows if (row["a"], row["b"]) not in seen and not seen.add((row["a"], row["b"]))]
    return sets


def evaluate(rows: list[dict], served: list[bool]) -> dict:
    """False hits and recall of one set, given whether each pair's cached answer is served."""
    near = [hit for row, hit in zip(rows, served, strict=True) if row["label"] == "near_miss"]
    paraphrases = [hit for row, hit in zip(rows, served, strict=True) if row["label"] == "paraphrase"]
    return {"false_hit": rate(sum(near), len(near)), "recall": rate(sum(paraphrases), len(paraphrases))}


def pair_report(threshold: float) -> dict:
    from cache.embedder import Embedder
    from cache.guard import why_different

    sets = read_sets()
    rows = [row for part in sets.values() for row in part]
    texts = sorted({text for row in rows for text in (row["a"], row["b"])})
    embedder = Embedder()
    vectors = {}
    for start in range(0, len(texts), 256):
        chunk = texts[start : start + 256]
        vectors.update(zip(chunk, embedder.embed_many(chunk), strict=True))
    timings, same = [], {}
    for row in rows:
        started = time.perf_counter()
        same[row["a"], row["b"]] = why_different(row["a"], row["b"]) is None
        timings.append((time.perf_counter() - started) * 1000)
    report: dict = {"pairs": len(rows), "texts": len(texts), "threshold": threshold}
    report["rule_ms"] = {"p50": round(percentile(timings, 50), 3), "p95": round(percentile(timings, 95), 3)}
    for name, part in sets.items():
        similar = [_similarity(vectors[r["a"]], vectors[r["b"]]) >= threshold for r in part]
        rule = [same[r["a"], r["b"]] for r in part]
        served = [s and r for s, r in zip(similar, rule, strict=True)]
        result = evaluate(part, served)
        result["rule_alone"] = evaluate(part, rule)
        result["by_category"] = {}
        for category in sorted({r["category"] for r in part}):
            picked = [i for i, r in enumerate(part) if r["category"] == category]
            result["by_category"][category] = evaluate([part[i] for i in picked], [served[i] for i in picked])
        result["false_hits"] = [[r["a"], r["b"]] for r, hit in zip(part, served, strict=True) if hit and r["label"] == "near_miss"]
        report[name] = result
    return report


def _similarity(a, b) -> float:
    return -1.0 if a is None or b is None else float(a @ b)  # None: past the embedder's window, no semantic lookup


def duplicates(redis_url: str, threshold: float) -> dict:
    """Hit rate of the duplicates workload, one request at a time, through ResultCache on real Redis."""
    import redis

    from app.config import CacheConfig
    from cache.embedder import Embedder
    from cache.index import VectorIndex
    from cache.index_sync import IndexSync
    from cache.keys import cache_keys
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
    sync = IndexSync(store, index, embedder.embed_many, WordFilter())
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


def _cell(figure: dict) -> str:
    if not figure["n"]:
        return "–"
    low, high = (round(100 * x, 1) for x in figure["ci95"])
    return f"{figure['hits']} / {figure['n']} ({100 * figure['rate']:.1f} %, {low}–{high})"


def table(report: dict) -> str:
    """The report as a Markdown table (docs/BENCHMARKS_LOG.md)."""
    lines = ["| set | false hits (95 % CI) | recall (95 % CI) | rule alone: false hits | rule alone: recall |", "|---|---|---|---|---|"]
    for name in SETS:
        part = report[name]
        cells = (part["false_hit"], part["recall"], part["rule_alone"]["false_hit"], part["rule_alone"]["recall"])
        lines.append(f"| {name} | " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.inprocess.cache_eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--threshold", type=float, help="default: LLMJOBS_CACHE_THRESHOLD's default")
    parser.add_argument("--no-duplicates", action="store_true")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    from app.config import ENV_VARS

    threshold = args.threshold if args.threshold is not None else float(ENV_VARS["LLMJOBS_CACHE_THRESHOLD"][0])
    report: dict = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "pairs": pair_report(threshold)}
    print(table(report["pairs"]), flush=True)
    print("rule per pair (ms)", json.dumps(report["pairs"]["rule_ms"]), flush=True)
    if not args.no_duplicates:
        report["duplicates"] = duplicates(args.redis_url, threshold)
        print("duplicates", json.dumps(report["duplicates"]), flush=True)
    if args.out:
        write_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
