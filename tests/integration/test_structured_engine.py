"""Structured output inside the batching engine, on the real model and both runners: constrained rows validate,
the unconstrained rows beside them answer as they do alone, a preempted or resumed constrained row keeps its
answer, and a repeated schema is compiled once."""

from __future__ import annotations

import json

import jsonschema
import pytest

from app.engine.types import GenerationRequest, SamplingParams
from app.structured.spec import OutputSpec
from tests.helpers.engine_runs import QUESTIONS, chat_ids, run_together

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 0,
          "maximum": 120}, "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 1, "maxItems": 3}},
          "required": ["name", "age", "tags"]}  # fmt: skip
SPEC = OutputSpec("json_schema", SCHEMA).to_json()


@pytest.fixture(scope="module")
def loaded(config):
    from app.engine.loader import load_model

    return load_model(config.model)


@pytest.fixture(scope="module", params=["transformers", "lean"])
def engine(loaded, request):
    from app.engine.batching_engine import BatchingEngine

    weights, tokenizer, device = loaded
    engine = BatchingEngine(weights, tokenizer, device=device, model_name="m", context_length=8192, time_limit_s=120, max_num_seqs=32,
                            max_num_batched_tokens=512, max_kv_tokens=65536, runner=request.param)  # fmt: skip
    yield engine
    engine.close()


def constrained(engine, i: int, priority: int = 5, **sampling) -> GenerationRequest:
    params = SamplingParams(**{"max_tokens": 80, "temperature": 0, "structured": SPEC, **sampling})
    return GenerationRequest(f"c{i}", chat_ids(engine, f"Describe person number {i} as JSON."), params, priority=priority)


def plain(engine, i: int, priority: int = 5) -> GenerationRequest:
    return GenerationRequest(f"p{i}", chat_ids(engine, QUESTIONS[i]), SamplingParams(max_tokens=24, temperature=0), priority=priority)


def test_constrained_rows_validate_and_leave_the_others_answers_unchanged(engine):
    alone = [engine.generate(plain(engine, i)).token_ids for i in range(3)]
    mixed = [constrained(engine, 0), plain(engine, 0), constrained(engine, 1, temperature=0.9, seed=3), plain(engine, 1),
             constrained(engine, 2), plain(engine, 2)]  # fmt: skip
    results = run_together(engine, mixed, staggered=False)
    for result in results[0::2]:
        assert result.finish_reason == "stop", result
        jsonschema.validate(json.loads(result.text), SCHEMA)
    assert [r.token_ids for r in results[1::2]] == alone
    assert [r.token_ids for r in run_together(engine, [constrained(engine, 0)])] == [results[0].token_ids]  # greedy: as alone


def test_a_repeated_schema_is_compiled_once(engine):
    before = engine.structured.num_compiled
    run_together(engine, [constrained(engine, 5), constrained(engine, 6)], staggered=False)
    assert engine.structured.num_compiled - before <= 1


def test_a_resumed_constrained_row_continues_its_answer(engine):
    whole = engine.generate(constrained(engine, 7))
    head = whole.token_ids[:6]
    request = constrained(engine, 7)
    resumed = GenerationRequest(request.request_id, request.prompt_token_ids, request.sampling, resume_token_ids=head)
    assert engine.generate(resumed).token_ids == whole.token_ids


def test_preempted_background_constrained_rows_keep_their_answers(engine):
    background = [constrained(engine, 10 + i, priority=9) for i in range(3)]
    alone = [engine.generate(r).token_ids for r in background]
    before = engine.num_preemptions
    results = run_together(engine, [*background, plain(engine, 4)])
    assert engine.num_preemptions > before
    assert [r.token_ids for r in results[:3]] == alone
