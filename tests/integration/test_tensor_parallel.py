"""Tensor parallelism on the CPU (gloo, 2 processes under torchrun): the batching engine over a
sharded model gives exactly the tokens of a single process. A tiny random Llama with heads that
split in two stands in for SmolLM2, whose 9 heads / 3 KV heads do not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.cli.embedded_redis import free_port
from tests.integration.tp_ranks import engine_over, generate_all


def test_two_ranks_give_the_tokens_of_one(config, tmp_path):
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(config.model.source().path)
    torch.manual_seed(0)
    tiny = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=128,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=2048,
        )
    ).eval()
    model_dir = tmp_path / "tiny"
    tiny.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    engine = engine_over(tiny, tokenizer)
    try:
        single = generate_all(engine)
    finally:
        engine.close()

    out = tmp_path / "tp.json"
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [
            str(torchrun),
            "--nproc-per-node",
            "2",
            "--master-port",
            str(free_port()),
            "-m",
            "tests.integration.tp_ranks",
            str(model_dir),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(out.read_text()) == single


def test_a_tensor_parallel_worker_serves_jobs(stack_env, prepared_model, tmp_path, private_stack, wait_for_job, france):
    """`llmjobs worker` with LLMJOBS_TENSOR_PARALLEL=3 (SmolLM2's 9 heads / 3 KV heads split in 3):
    rank 0 consumes the queue, ranks 1-2 follow; the answer is the single-process one."""
    from app.cli.commands import tensor_parallel_command

    env = {
        **stack_env,
        "LLMJOBS_TENSOR_PARALLEL": "3",
        "LLMJOBS_QUEUE": "llmjobs-test.tp",
        "LLMJOBS_PORT": str(free_port()),
        "LLMJOBS_WORKER_METRICS_PORT": "0",
        "LLMJOBS_MAX_NUM_SEQS": "4",
    }
    with private_stack(env, tensor_parallel_command, tmp_path) as http:
        ids = [http.post("/v1/jobs", json={"prompt": france, "temperature": 0, "max_tokens": 16}).json()["id"] for _ in range(2)]
        jobs = [wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id) for job_id in ids]
    assert [j["status"] for j in jobs] == ["succeeded", "succeeded"]
    assert all(j["output"] == "The capital of France is Paris." for j in jobs)
