"""fp16 weights on the real default model: same greedy answers as float32, and a batch that
mixes requests still gives each the answer it gets alone (tests/integration/test_batching_engine.py
runs on this format, the default on CPU)."""

from dataclasses import replace

from app.engine.quality import greedy_answers, weight_bytes
from tests.integration.test_batching_engine import QUESTIONS


def test_fp16_weights_answer_like_float32_in_less_memory(config):
    from app.models import load_model

    full, tokenizer, _ = load_model(replace(config.model, quantization="none"))
    half, _, _ = load_model(replace(config.model, quantization="fp16-weights"))
    assert full.llmjobs_quantization == "none" and half.llmjobs_quantization == "fp16-weights"
    assert greedy_answers(half, tokenizer, QUESTIONS, 24) == greedy_answers(full, tokenizer, QUESTIONS, 24)
    assert weight_bytes(half) < 0.75 * weight_bytes(full)


def test_bitsandbytes_4bit_loads_small_and_answers(config):
    from app.models import load_model

    model, tokenizer, _ = load_model(replace(config.model, quantization="4bit"))
    assert model.llmjobs_quantization == "4bit"
    assert weight_bytes(model) < 200 * 2**20  # NF4: ~160 MB against ~513 MB in float32
    (answer,) = greedy_answers(model, tokenizer, ["What is the capital of France? Answer in one sentence."], 16)
    assert "Paris" in tokenizer.decode(answer)
