"""Cache keys, and the rule on the first pair set: no Redis, no embedding model."""

from __future__ import annotations

from dataclasses import asdict

from app.engine.types import SamplingParams
from cache.guard import why_different
from cache.keys import cache_keys

GREEDY = SamplingParams(max_tokens=64, temperature=0.0)


def keys(request=None, ids=(1, 2, 3), sampling=GREEDY, tenant="t", model="m"):
    request = request or {"messages": [{"role": "user", "content": "Hi"}]}
    return cache_keys(request=request, prompt_ids=list(ids), sampling=asdict(sampling), tenant=tenant, model_id=model)


def test_exact_key_changes_with_everything_that_changes_the_answer():
    base = keys()
    assert keys().exact == base.exact
    assert keys(ids=(1, 2, 4)).exact != base.exact
    assert keys(tenant="u").exact != base.exact
    assert keys(model="m2").exact != base.exact
    for change in (
        {"max_tokens": 65},
        {"top_p": 0.9},
        {"top_k": 5},
        {"stop": ("x",)},
        {"temperature": 0.5, "seed": 1},
        {"ignore_eos": True},
    ):
        other = SamplingParams(**{"max_tokens": 64, "temperature": 0.0, **change})
        assert keys(sampling=other).exact != base.exact, change
        assert keys(sampling=other).namespace != base.namespace, change


def test_greedy_requests_ignore_the_seed():
    assert keys(sampling=SamplingParams(max_tokens=64, temperature=0.0, seed=7)).exact == keys().exact


def test_semantic_text_is_the_last_user_turn_and_the_rest_is_namespace():
    one = keys({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": " What is 2+2? "}]})
    two = keys({"messages": [{"role": "system", "content": "Be verbose."}, {"role": "user", "content": "What is 2+2?"}]})
    assert one.text == two.text == "What is 2+2?"
    assert one.namespace != two.namespace
    assert keys({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}).text is None


def test_determinism():
    assert keys().deterministic and keys().greedy
    seeded = keys(sampling=SamplingParams(max_tokens=8, temperature=0.7, seed=3))
    assert seeded.deterministic and not seeded.greedy
    assert not keys(sampling=SamplingParams(max_tokens=8, temperature=0.7)).deterministic


def test_the_rule_on_the_first_set(pair_rows):
    """The rule alone (no embeddings) lets no near miss of the first set through (issue 6's pairs)."""
    rows = pair_rows
    assert sum(r["label"] == "paraphrase" for r in rows) >= 50 and sum(r["label"] == "near_miss" for r in rows) >= 50
    assert [r for r in rows if r["label"] == "near_miss" and why_different(r["a"], r["b"]) is None] == []


def test_a_constrained_request_never_shares_an_answer_with_an_unconstrained_one():
    from app.structured.spec import OutputSpec

    base = keys()
    schema = SamplingParams(max_tokens=64, temperature=0.0, structured=OutputSpec("json_object").to_json())
    regex = SamplingParams(max_tokens=64, temperature=0.0, structured=OutputSpec("regex", "[0-9]+").to_json())
    assert len({base.exact, keys(sampling=schema).exact, keys(sampling=regex).exact}) == 3
    assert len({base.namespace, keys(sampling=schema).namespace, keys(sampling=regex).namespace}) == 3
    tools = {"messages": [{"role": "user", "content": "Hi"}], "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert keys(request=tools).exact != base.exact and keys(request=tools).namespace != base.namespace
    assert keys(request={**tools, "tool_choice": "none"}).exact != keys(request=tools).exact
