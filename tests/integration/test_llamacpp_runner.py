"""The batching engine on llama.cpp's kernels (``LLMJOBS_RUNNER=llamacpp``), in-process, on the real
default model's own Q4_1 file: a row's greedy tokens are those llama-cpp-python's own ``Llama`` gives
for the same prompt alone, and stay the same in a batch of 32, under speculation and after
preemption; a request that does not fit a sequence's KV stream is refused, not truncated."""

from dataclasses import replace

import pytest

from app.engine.types import GenerationRequest, SamplingParams
from tests.helpers.engine_runs import QUESTIONS, chat_ids, run_together
from tests.helpers.waiting import wait_until


@pytest.fixture(scope="module")
def loaded(config):
    from app.engine.loader import load_model

    return load_model(replace(config.model, runner="llamacpp"))


def make(loaded, **limits):
    from app.engine.batching_engine import BatchingEngine

    weights, tokenizer, device = loaded
    settings = {"max_num_seqs": 32, "max_num_batched_tokens": 512, "max_kv_tokens": 32 * 1024, "runner": "llamacpp", **limits}
    return BatchingEngine(weights, tokenizer, device=device, model_name="m", context_length=8192, time_limit_s=120, **settings)


@pytest.fixture(scope="module")
def engine(loaded):
    engine = make(loaded)
    yield engine
    engine.close()


def greedy(engine, question: str, max_tokens: int) -> GenerationRequest:
    return GenerationRequest(question[:12], chat_ids(engine, question), SamplingParams(max_tokens=max_tokens, temperature=0))


def test_greedy_equals_llama_cpp_python_own_generation(loaded, engine):
    import llama_cpp

    reference = llama_cpp.Llama(model_path=str(loaded[0].llmjobs_gguf), n_ctx=1024, n_threads=2, flash_attn=True, verbose=False)
    try:
        for question in QUESTIONS[:3]:
            request = greedy(engine, question, 20)
            theirs = []
            for token in reference.generate(request.prompt_token_ids, top_k=1, temp=0.0, reset=True):
                theirs.append(token)
                if len(theirs) == 20 or token == reference.token_eos():
                    break
            ours = engine.generate(request).token_ids
            assert ours == theirs[: len(ours)] and len(ours) >= min(len(theirs), 20) - 1, question
    finally:
        reference.close()


def test_greedy_in_a_batch_of_32_equals_alone(engine):
    requests = [greedy(engine, QUESTIONS[i % len(QUESTIONS)] + " " * (i // len(QUESTIONS)), 16 + i % 7) for i in range(32)]
    alone = [engine.generate(r).token_ids for r in requests[:6]]
    together = run_together(engine, requests, staggered=False)
    assert [t.token_ids for t in together[:6]] == alone
    assert all(t.finish_reason in ("stop", "length") for t in together)
    wait_until(lambda: not engine.runner.running, 10, what="the finished rows to leave the runner")
    assert not engine.runner.slot and sorted(engine.runner._free) == list(range(32))  # every sequence given back


def test_prompt_lookup_speculation_changes_no_token(engine):
    question = "Repeat exactly: the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog."
    plain = engine.generate(greedy(engine, question, 40)).token_ids
    engine.set_speculative("prompt_lookup")
    try:
        speculated = engine.generate(greedy(engine, question, 40)).token_ids
    finally:
        engine.set_speculative("off")
    assert speculated == plain


def test_rows_that_wait_for_kv_or_are_preempted_finish_with_the_same_tokens(loaded, engine):
    small = make(loaded, max_kv_tokens=200, max_num_seqs=8)  # the budget holds about two of these at once
    try:
        requests = [greedy(small, q, 40) for q in QUESTIONS]
        results = run_together(small, requests, staggered=False)
        assert [r.token_ids for r in results] == [engine.generate(r).token_ids for r in requests]
    finally:
        small.close()


def test_a_request_longer_than_a_kv_stream_is_refused(loaded):
    from app.errors import InvalidRequestError

    small = make(loaded, max_kv_tokens=256 * 4, max_num_seqs=4)  # 256 tokens a sequence
    try:
        assert small.context_length == 256
        with pytest.raises(InvalidRequestError, match="do not fit the context of 256"):
            small.generate(greedy(small, QUESTIONS[0], 250))
    finally:
        small.close()
