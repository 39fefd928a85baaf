"""The engine on a CUDA device (skipped where there is none).

Uses the prepared default model when this machine has it, otherwise the model
built from a config-only folder (``.gpu_model/``: config and tokenizer, random
weights), which checks the CUDA code paths but not the model's answers.
"""

from argparse import Namespace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def engine():
    from app.config import load_config
    from loadtest.inprocess.engine_bench import build_engine

    config = load_config()
    real = config.model.is_prepared and Path(config.model.source().path).exists()
    if not real and not (ROOT / ".gpu_model" / "config.json").exists():
        pytest.skip("neither the prepared default model nor .gpu_model/ is here")
    return build_engine(Namespace(device="cuda", dtype="bfloat16", random_weights=None if real else ROOT / ".gpu_model"))


def request(engine, max_tokens=16, **sampling):
    from app.engine.types import GenerationRequest, SamplingParams

    ids = engine.tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}], add_generation_prompt=True, tokenize=True, return_dict=False
    )
    return GenerationRequest("gpu", list(ids), SamplingParams(max_tokens=max_tokens, temperature=0.0, **sampling))


def test_runs_on_cuda_in_bf16(engine):
    assert engine.device.startswith("cuda")
    assert next(engine.model.parameters()).dtype == torch.bfloat16


def test_greedy_is_repeatable_and_streams_every_token(engine):
    deltas = []
    first = engine.generate(request(engine, ignore_eos=True), on_delta=deltas.append)
    second = engine.generate(request(engine, ignore_eos=True))
    assert first.token_ids == second.token_ids
    assert first.completion_tokens == 16 and first.finish_reason == "length"
    assert "".join(d.text for d in deltas) == first.text


def test_cancel_stops_between_steps(engine):
    calls = []
    completion = engine.generate(request(engine, max_tokens=200, ignore_eos=True), should_stop=lambda: calls.append(1) or len(calls) > 3)
    assert completion.finish_reason == "cancelled" and completion.completion_tokens < 10


def test_memory_stats_report_cuda(engine):
    from app.obs.process_memory import memory_stats

    stats = memory_stats()
    assert stats["cuda_allocated_bytes"] > 0 and stats["cuda_peak_allocated_bytes"] >= stats["cuda_allocated_bytes"]
