"""The batching engine on the real default model, in-process (no Redis, no worker), on both of
its runners: every exactness test holds for the lean forward as for transformers'."""

import threading

import pytest

from app.engine.types import GenerationRequest, SamplingParams
from tests.helpers.engine_runs import QUESTIONS, chat_ids, run_together
from tests.helpers.waiting import wait_until


@pytest.fixture(scope="module")
def loaded(config):
    from app.engine.loader import load_model

    return load_model(config.model)


@pytest.fixture(scope="module", params=["transformers", "lean"])
def model(loaded, request):
    """(weights, tokenizer, device, runner): the loaded model and the runner engines get."""
    return (*loaded, request.param)


def make(model, **limits):
    from app.engine.batching_engine import BatchingEngine

    weights, tokenizer, device, runner = model
    settings = {"max_num_seqs": 32, "max_num_batched_tokens": 512, "max_kv_tokens": 65536, "runner": runner, **limits}
    return BatchingEngine(weights, tokenizer, device=device, model_name="m", context_length=8192, time_limit_s=120, **settings)


@pytest.fixture(scope="module")
def engine(model):
    engine = make(model)
    yield engine
    engine.close()


def test_greedy_in_a_mixed_batch_equals_alone(model, engine):
    from app.engine.naive_engine import NaiveEngine

    weights, tokenizer, device, _ = model
    naive = NaiveEngine(weights, tokenizer, device=device, model_name="m", context_length=8192, time_limit_s=120)
    requests = [
        GenerationRequest(str(i), chat_ids(engine, q), SamplingParams(max_tokens=24 + 4 * i, temperature=0))
        for i, q in enumerate(QUESTIONS)
    ]
    alone = [naive.generate(r) for r in requests]
    together = run_together(engine, requests)
    # Padding changes the shapes of the matrix products, which can reorder float sums; on this
    # model and these prompts the greedy choices come out identical, and we hold it to that.
    assert [t.token_ids for t in together] == [a.token_ids for a in alone]
    assert [t.finish_reason for t in together] == [a.finish_reason for a in alone]


def test_long_prompts_prefilled_in_chunks_match_naive(model):
    from app.engine.naive_engine import NaiveEngine
    from loadtest.workloads import load

    weights, tokenizer, device, _ = model
    naive = NaiveEngine(weights, tokenizer, device=device, model_name="m", context_length=8192, time_limit_s=120)
    chunked = make(model, max_num_batched_tokens=128)  # ~900-token prompts take several chunks
    try:
        documents = [item["messages"][0]["content"] for item in load("long_prompt")[:2]]
        requests = [
            GenerationRequest(str(i), chat_ids(chunked, doc), SamplingParams(max_tokens=12, temperature=0))
            for i, doc in enumerate(documents)
        ]
        requests.append(GenerationRequest("short", chat_ids(chunked, QUESTIONS[0]), SamplingParams(max_tokens=12, temperature=0)))
        assert all(len(r.prompt_token_ids) > 800 for r in requests[:2])
        together = run_together(chunked, requests)
        assert [t.token_ids for t in together] == [naive.generate(r).token_ids for r in requests]
    finally:
        chunked.close()


def test_shared_prefix_is_reused_and_changes_nothing(model):
    from app.engine.naive_engine import NaiveEngine
    from loadtest.workloads import load

    weights, tokenizer, device, _ = model
    naive = NaiveEngine(weights, tokenizer, device=device, model_name="m", context_length=8192, time_limit_s=120)
    engine = make(model)
    try:
        items = load("shared_prefix")[:3]
        requests = [
            GenerationRequest(
                str(i),
                list(tokenizer.apply_chat_template(it["messages"], add_generation_prompt=True, tokenize=True, return_dict=False)),
                SamplingParams(max_tokens=10, temperature=0),
            )
            for i, it in enumerate(items)
        ]
        outputs = [engine.generate(r) for r in requests]  # one after another: the first fills the cache
        assert [o.token_ids for o in outputs] == [naive.generate(r).token_ids for r in requests]
        cache = engine.prefix_cache
        assert cache.num_queries == 3 and cache.num_hits == 2
        assert cache.num_hit_tokens >= 2 * 900  # the ~930-token system prompt, block-aligned
        together = run_together(engine, requests)  # a group whose rows all hit
        assert [t.token_ids for t in together] == [o.token_ids for o in outputs]
    finally:
        engine.close()


def test_seeded_sampling_ignores_batch_companions(engine):
    seeded = GenerationRequest(
        "s", chat_ids(engine, "Invent a name for a cat."), SamplingParams(max_tokens=16, temperature=1.0, top_p=0.9, top_k=50, seed=7)
    )
    alone = engine.generate(seeded)
    others = [
        GenerationRequest(str(i), chat_ids(engine, q), SamplingParams(max_tokens=20, temperature=0.8)) for i, q in enumerate(QUESTIONS[:4])
    ]
    together = run_together(engine, [*others[:2], seeded, *others[2:]])
    assert together[2].token_ids == alone.token_ids


def test_stop_strings_max_tokens_and_streamed_deltas(engine):
    deltas = {0: [], 1: []}
    requests = [
        GenerationRequest("a", chat_ids(engine, QUESTIONS[0]), SamplingParams(max_tokens=40, temperature=0, stop=(" Paris",))),
        GenerationRequest("b", chat_ids(engine, QUESTIONS[1]), SamplingParams(max_tokens=7, temperature=0)),
    ]
    stopped, capped = run_together(engine, requests, on_delta=lambda i: deltas[i].append)
    assert stopped.text == "The capital of France is" and stopped.finish_reason == "stop"
    assert capped.completion_tokens == 7 and capped.finish_reason == "length"
    assert "".join(d.text for d in deltas[0]) == stopped.text
    assert [d.index for d in deltas[1]] == list(range(7))


def test_cancel_mid_batch_frees_its_slot(engine):
    stop_flags = [threading.Event() for _ in range(3)]
    requests = [
        GenerationRequest(str(i), chat_ids(engine, q), SamplingParams(max_tokens=60, temperature=0, ignore_eos=True))
        for i, q in enumerate(QUESTIONS[:3])
    ]

    def cancel_1_once_2_streams(i):
        # Request 2 arrives after request 1 streamed its first token: once 2 streams too, all three
        # are in the batch, and 1 is cancelled mid-generation.
        return (lambda delta: stop_flags[1].set()) if i == 2 else None

    results = run_together(engine, requests, on_delta=cancel_1_once_2_streams, should_stop=lambda i: stop_flags[i].is_set)
    assert results[1].finish_reason == "cancelled" and results[1].completion_tokens < 60
    assert [results[0].completion_tokens, results[2].completion_tokens] == [60, 60]
    assert engine.scheduler.num_unfinished == 0 and engine.scheduler.num_reserved_tokens == 0
    # The last completion is handed over inside a step; the runner drops its row at that step's end.
    wait_until(lambda: not engine.runner.running, 10, what="the finished rows to leave the runner")
    assert not getattr(engine.runner, "slot", None)  # and, in the lean runner, their KV slots


def test_memory_pressure_makes_requests_wait_and_all_finish(model):
    small = make(model, max_kv_tokens=200, max_num_seqs=8)  # room for about two of these at once
    try:
        requests = [
            GenerationRequest(str(i), chat_ids(small, q), SamplingParams(max_tokens=40, temperature=0)) for i, q in enumerate(QUESTIONS)
        ]
        results = run_together(small, requests, staggered=False)
        assert all(r.finish_reason in ("stop", "length") for r in results), results
        with pytest.raises(Exception, match="KV tokens"):
            small.generate(GenerationRequest("big", chat_ids(small, QUESTIONS[0]), SamplingParams(max_tokens=190)))
    finally:
        small.close()


def test_out_of_memory_shrinks_the_batch_and_loses_nothing(model):
    """A step that runs out of memory sends everyone back for recompute; all finish, same answers."""
    import torch

    engine = make(model)
    try:
        requests = [
            GenerationRequest(str(i), chat_ids(engine, q), SamplingParams(max_tokens=20, temperature=0)) for i, q in enumerate(QUESTIONS)
        ]
        expected = [engine.generate(r).token_ids for r in requests[:3]]
        decode, failures = engine.runner.decode, []

        def flaky_decode(last_tokens):
            if len(last_tokens) >= 3 and not failures:
                failures.append(len(last_tokens))
                raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
            return decode(last_tokens)

        engine.runner.decode = flaky_decode
        streamed = {i: [] for i in range(3)}
        together = run_together(engine, requests[:3], on_delta=lambda i: lambda d: streamed[i].extend(d.token_ids), staggered=False)
        assert failures and engine.num_preemptions >= 2
        assert [t.token_ids for t in together] == expected
        assert [streamed[i] for i in range(3)] == expected  # every token streamed exactly once
        assert engine.scheduler.max_num_seqs < 32  # admission capped until memory holds
    finally:
        engine.close()


REWRITE = (
    "Rewrite this sentence in the past tense, keeping every other word: The harbour town wakes slowly, its fishing "
    "boats rocking against the stone quay while gulls argue over the morning catch and the baker opens his shop."
)


def test_prompt_lookup_speculation_is_exact_and_accepts_drafts(model):
    plain = make(model)
    spec = make(model, speculative="prompt-lookup")
    try:
        requests = [
            GenerationRequest(str(i), chat_ids(plain, q), SamplingParams(max_tokens=40, temperature=0))
            for i, q in enumerate([REWRITE, *QUESTIONS[:2]])
        ]
        expected = [plain.generate(r) for r in requests]
        streamed: list[int] = []
        got = [spec.generate(r, on_delta=(lambda d: streamed.extend(d.token_ids)) if i == 0 else None) for i, r in enumerate(requests)]
        assert [g.token_ids for g in got] == [e.token_ids for e in expected]  # the exactness test
        assert streamed == got[0].token_ids  # accepted drafts stream as tokens, once each, in order
        assert spec.speculator.num_drafts > 0 and spec.speculator.num_accepted_tokens > 0
        assert spec.stats().spec_num_drafts == spec.speculator.num_drafts
        assert spec.stats().spec_num_accepted_tokens == spec.speculator.num_accepted_tokens
        # Sampled requests and batches of several decode as usual (and still agree).
        together = run_together(spec, requests)
        assert [t.token_ids for t in together] == [e.token_ids for e in expected]
    finally:
        plain.close()
        spec.close()


@pytest.fixture(scope="module")
def drafts(config, model, tmp_path_factory):
    """Two real draft models with the target's tokenizer: the target itself (its guesses are
    almost always right) and its first 4 layers (almost always wrong, and much cheaper)."""
    from dataclasses import replace

    from app.engine.loader import load_draft_model
    from loadtest.inprocess.spec_bench import save_truncated_draft

    target_dir, tokenizer = config.model.source().path, model[1]
    truncated = save_truncated_draft(target_dir, tmp_path_factory.mktemp("draft") / "first-4-layers", 4)
    return {
        name: load_draft_model(replace(config.model, draft_model=str(path)), tokenizer, "cpu")
        for name, path in (("self", target_dir), ("truncated", truncated))
    }


@pytest.mark.parametrize("which", ["self", "truncated"])
def test_draft_model_speculation_is_exact(model, drafts, which):
    plain = make(model)
    spec = make(model, speculative="draft-model", draft_model=drafts[which])
    try:
        requests = [
            GenerationRequest(str(i), chat_ids(plain, q), SamplingParams(max_tokens=48, temperature=0))
            for i, q in enumerate([REWRITE, *QUESTIONS[:3]])
        ]
        expected = [plain.generate(r).token_ids for r in requests]
        streamed: list[int] = []
        got = [
            spec.generate(r, on_delta=(lambda d: streamed.extend(d.token_ids)) if i == 0 else None).token_ids
            for i, r in enumerate(requests)
        ]
        assert got == expected  # the exactness test
        assert streamed == got[0]
        stats = spec.stats()
        assert stats.spec_num_drafts > 0 and stats.spec_num_draft_tokens > 0
        if which == "self":  # the same weights guess the same tokens
            assert stats.spec_num_accepted_tokens >= 0.9 * stats.spec_num_draft_tokens
        else:  # mostly rejected: drafting backs off instead of slowing every token
            assert stats.spec_num_backoffs > 0
        assert [t.token_ids for t in run_together(spec, requests)] == expected
    finally:
        plain.close()
        spec.close()


def test_draft_model_switch_needs_a_draft(model):
    engine = make(model)
    try:
        with pytest.raises(ValueError, match="LLMJOBS_DRAFT_MODEL"):
            engine.set_speculative("draft-model")
        assert engine.speculator.mode == "off"
        engine.set_speculative("prompt-lookup")
        assert engine.speculator.mode == "prompt-lookup"
    finally:
        engine.close()


def test_a_draft_with_another_tokenizer_fails_at_start(config, tmp_path):
    from dataclasses import replace

    from transformers import AutoTokenizer

    from app.engine.loader import load_draft_model, load_tokenizer
    from app.errors import ModelLoadError

    target_dir = config.model.source().path
    tokenizer = load_tokenizer(config.model)
    with pytest.raises(ModelLoadError, match="no tokenizer"):
        load_draft_model(replace(config.model, draft_model=str(tmp_path)), tokenizer, "cpu")
    other = AutoTokenizer.from_pretrained(target_dir)
    other.add_tokens(["<not-in-the-target>"])
    other.save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="does not share the target's tokenizer"):
        load_draft_model(replace(config.model, draft_model=str(tmp_path)), tokenizer, "cpu")


class _BrokenDraft:
    """A draft model whose forward pass fails (fault injection: the draft is optional)."""

    def forward(self, input_ids=None, past_key_values=None, use_cache=None, logits_to_keep=None):
        raise RuntimeError("injected draft failure")

    __call__ = forward


def test_a_failing_draft_model_leaves_the_request_to_plain_decoding(model):
    plain = make(model)
    spec = make(model, speculative="draft-model", draft_model=_BrokenDraft())
    try:
        request = GenerationRequest("0", chat_ids(plain, REWRITE), SamplingParams(max_tokens=24, temperature=0))
        assert spec.generate(request).token_ids == plain.generate(request).token_ids
        assert spec.stats().spec_num_drafts == 0
    finally:
        plain.close()
        spec.close()


def test_no_speculation_under_per_tensor_activation_scales(model):
    weights = model[0]
    before, weights.llmjobs_quantization = weights.llmjobs_quantization, "int8-dynamic"  # what the engine reads; the weights stay
    try:
        engine = make(model, speculative="prompt-lookup")
    finally:
        weights.llmjobs_quantization = before
    try:
        engine.generate(GenerationRequest("0", chat_ids(engine, REWRITE), SamplingParams(max_tokens=24, temperature=0)))
        assert engine.stats().spec_num_drafts == 0
    finally:
        engine.close()


def test_background_rows_yield_to_an_urgent_request_and_keep_their_answers(model):
    """Batch lines run at priority 9: an urgent arrival preempts all but one of them (recomputed later from
    prompt + output so far), and every answer is still the one it gets alone."""
    from app.engine.naive_engine import NaiveEngine

    weights, tokenizer, device, _ = model
    engine = make(model)
    try:
        background = [GenerationRequest(f"b{i}", chat_ids(engine, q), SamplingParams(max_tokens=40, temperature=0), priority=9)
                      for i, q in enumerate(QUESTIONS[:4])]  # fmt: skip
        urgent = GenerationRequest("u", chat_ids(engine, QUESTIONS[4]), SamplingParams(max_tokens=8, temperature=0), priority=5)
        together = run_together(engine, [*background, urgent])
        assert engine.num_preemptions >= 1  # how many depends on how far the others got when it arrived
        naive = NaiveEngine(weights, tokenizer, device=device, model_name="m", context_length=8192, time_limit_s=120)
        assert [t.token_ids for t in together] == [naive.generate(r).token_ids for r in [*background, urgent]]
    finally:
        engine.close()
