"""Every weight format on the real default model. fp16 weights: same greedy answers as float32
(and a batch that mixes requests still gives each the answer it gets alone:
tests/integration/test_batching_engine.py runs on this format, the default on CPU). The others
load smaller and answer the France prompt."""

from dataclasses import replace

import pytest

from loadtest.inprocess.quality import greedy_answers, weight_bytes


def test_fp16_weights_answer_like_float32_in_less_memory(config, engine_questions):
    from app.engine.loader import load_model

    full, tokenizer, _ = load_model(replace(config.model, quantization="none"))
    half, _, _ = load_model(replace(config.model, quantization="fp16-weights"))
    assert full.llmjobs_quantization == "none" and half.llmjobs_quantization == "fp16-weights"
    answers = greedy_answers(full, tokenizer, engine_questions, 24)
    assert greedy_answers(half, tokenizer, engine_questions, 24) == answers
    assert "Paris" in tokenizer.decode(answers[0])
    assert weight_bytes(half) < 0.75 * weight_bytes(full)


@pytest.mark.parametrize(("mode", "most_mb"), [("int8-dynamic", 300), ("8bit", 260), ("4bit", 200)])  # MiB; float32: 513, fp16 weights: 365
def test_each_smaller_format_loads_small_and_answers(config, france, mode, most_mb):
    from app.engine.loader import load_model

    model, tokenizer, _ = load_model(replace(config.model, quantization=mode))
    assert model.llmjobs_quantization == mode
    assert weight_bytes(model) < most_mb * 2**20
    (answer,) = greedy_answers(model, tokenizer, [france], 16)
    assert "Paris" in tokenizer.decode(answer)
