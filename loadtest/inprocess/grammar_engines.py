"""Grammar engines compared on this machine, for structured outputs (``python -m loadtest.inprocess.grammar_engines``):
llguidance (what the engine uses), xgrammar and outlines-core, each measured where it is installed
(``pip install xgrammar outlines-core`` beside the project to compare them; the project depends on llguidance only).

- compile: the time to turn a typical JSON schema (nested object, integer range, enum array, pattern) into a
  matcher over the default model's tokenizer, for ``--schemas`` schemas never compiled before (caches off);
- mask: one decode step's allowed-token masks for ``--rows`` (32) rows at once, applied to (rows, vocab) logits,
  over ``--steps`` steps of a walk through the grammar (each row takes its best allowed token of random logits).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from loadtest.report import write_json

SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 24}, "age": {"type": "integer", "minimum": 0, "maximum": 120},
    "tags": {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "minItems": 1, "maxItems": 3},
    "address": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 24},
                                                 "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                "required": ["city", "zip"], "additionalProperties": False}},
    "required": ["name", "age", "tags", "address"], "additionalProperties": False}  # fmt: skip


def schemas(count: int) -> list[str]:
    """``count`` distinct variants of the schema (one more property each), so no engine can reuse a compile."""
    out = []
    for i in range(count):
        schema = copy.deepcopy(SCHEMA)
        schema["properties"][f"extra_{i}"] = {"type": "number", "minimum": 0, "maximum": 10}
        out.append(json.dumps(schema))
    return out


def walk(rows: int, steps: int, vocab: int, fill, consume, matchers: list[Any]) -> list[float]:
    """Per-step seconds of computing and applying the masks of ``rows`` matchers."""
    generator = torch.Generator().manual_seed(0)
    times = []
    for _ in range(steps):
        logits = torch.randn(rows, vocab, generator=generator)
        start = time.perf_counter()
        fill(matchers, logits)
        times.append(time.perf_counter() - start)
        for matcher, token in zip(matchers, logits.argmax(dim=-1).tolist(), strict=True):
            consume(matcher, token)
    return times


def apply_bits(logits: torch.Tensor, bitmask: torch.Tensor) -> None:
    """The engine's own application of a (rows, words) int32 bitmask (app/engine/structured_output.py)."""
    allowed = np.unpackbits(bitmask.numpy().view(np.uint8), axis=1, bitorder="little")[:, : logits.shape[1]]
    logits.masked_fill_(torch.from_numpy(allowed) == 0, float("-inf"))


def llguidance_engine(tokenizer: Any, vocab: int, texts: list[str], rows: int, steps: int) -> dict[str, Any]:
    import llguidance
    import llguidance.hf

    lltok = llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab)
    compiles = []
    for text in texts:
        start = time.perf_counter()
        matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_json_schema(text))
        compiles.append(time.perf_counter() - start)
    executor, words = llguidance.LLExecutor(num_threads=2), (vocab + 31) // 32
    bitmask = torch.full((rows, words), -1, dtype=torch.int32)

    def fill(matchers, logits):
        executor.unsafe_compute_mask_ptr([(m, i) for i, m in enumerate(matchers)], bitmask.data_ptr(), words * 4, rows)
        apply_bits(logits, bitmask)

    def consume(m, token):
        if not m.is_stopped():
            m.consume_token(token)

    masks = walk(rows, steps, vocab, fill, consume, [matcher.deep_copy() for _ in range(rows)])
    return {"engine": llguidance.get_version(), "compile_s": compiles, "mask_s": masks}


def xgrammar_engine(tokenizer: Any, vocab: int, texts: list[str], rows: int, steps: int) -> dict[str, Any]:
    import xgrammar

    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab)
    compiler = xgrammar.GrammarCompiler(info, max_threads=2, cache_enabled=False)
    compiles = []
    for text in texts:
        start = time.perf_counter()
        compiled = compiler.compile_json_schema(text)
        compiles.append(time.perf_counter() - start)
    bitmask = xgrammar.allocate_token_bitmask(rows, vocab)

    def fill(matchers, logits):
        for i, m in enumerate(matchers):
            m.fill_next_token_bitmask(bitmask, i)
        apply_bits(logits, bitmask)

    def consume(m, token):
        if not m.is_terminated():
            m.accept_token(token)

    masks = walk(rows, steps, vocab, fill, consume, [xgrammar.GrammarMatcher(compiled) for _ in range(rows)])
    return {"engine": "xgrammar", "compile_s": compiles, "mask_s": masks}


def outlines_engine(tokenizer: Any, vocab: int, texts: list[str], rows: int, steps: int) -> dict[str, Any]:
    from outlines_core import Guide, Index, Vocabulary
    from outlines_core.json_schema import build_regex_from_schema

    pieces: dict[str, list[int]] = {}
    for token, token_id in tokenizer.get_vocab().items():
        if token_id != tokenizer.eos_token_id:
            pieces.setdefault(tokenizer.convert_tokens_to_string([token]), []).append(token_id)
    vocabulary = Vocabulary(tokenizer.eos_token_id, pieces)
    compiles, index = [], None
    for text in texts[:3]:  # tens of milliseconds each: three tell
        start = time.perf_counter()
        index = Index(build_regex_from_schema(text), vocabulary)
        compiles.append(time.perf_counter() - start)

    def fill(guides, logits):
        mask = torch.full_like(logits, float("-inf"))
        for i, guide in enumerate(guides):
            mask[i, torch.tensor(guide.get_tokens())] = 0
        logits.add_(mask)

    def consume(guide, token):
        if not guide.is_finished() and token in guide.get_tokens():
            guide.advance(token)

    masks = walk(rows, steps, vocab, fill, consume, [Guide(index) for _ in range(rows)])
    return {"engine": "outlines-core", "compile_s": compiles, "mask_s": masks}


ENGINES = {"llguidance": llguidance_engine, "xgrammar": xgrammar_engine, "outlines-core": outlines_engine}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.grammar_engines", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--schemas", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    from app.config import load_config
    from app.model_files import load_tokenizer

    config = load_config()
    tokenizer = load_tokenizer(config.model)
    vocab = len(tokenizer)
    report: dict[str, Any] = {"rows": args.rows, "steps": args.steps, "vocab": vocab, "engines": {}}
    for name, measure in ENGINES.items():
        try:
            found = measure(tokenizer, vocab, schemas(args.schemas), args.rows, args.steps)
        except ImportError as exc:
            report["engines"][name] = {"skipped": f"not installed ({exc.name})"}
            continue
        compile_ms, mask_ms = [1000 * s for s in found["compile_s"]], sorted(1000 * s for s in found["mask_s"])
        report["engines"][name] = {
            "version": found["engine"],
            "compile_ms_median": round(statistics.median(compile_ms), 2),
            "compile_ms_max": round(max(compile_ms), 2),
            "mask_ms_per_step_median": round(statistics.median(mask_ms), 3),
            "mask_ms_per_step_p95": round(mask_ms[int(0.95 * len(mask_ms)) - 1], 3),
        }
    print(json.dumps(report, indent=2))
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
