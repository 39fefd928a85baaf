"""Run under ``torchrun --nproc-per-node 2``: rank 0 generates with the batching engine over a
tensor-parallel model and writes the tokens; rank 1 follows its forward passes.

test_tensor_parallel.py runs the same :func:`generate_all` in one process and compares."""

import json
import sys

from app.engine import tensor_parallel
from tests.helpers.engine_runs import QUESTIONS, chat_ids, run_together


def engine_over(model, tokenizer):
    """The batching engine over the tiny test model."""
    from app.engine.batching_engine import BatchingEngine

    return BatchingEngine(model, tokenizer, device="cpu", model_name="tiny", context_length=2048, time_limit_s=120,
                          max_num_seqs=8, max_num_batched_tokens=512, max_kv_tokens=65536)  # fmt: skip


def generate_all(engine) -> list[list[int]]:
    """Four requests: one alone, then three as one batch that each joins mid-way; their tokens."""
    from app.engine.types import GenerationRequest, SamplingParams

    sampling = SamplingParams(max_tokens=12, temperature=0, ignore_eos=True)
    requests = [GenerationRequest(str(i), chat_ids(engine, q), sampling) for i, q in enumerate(QUESTIONS[:4])]
    first = [engine.generate(requests[0]).token_ids]
    return first + [c.token_ids for c in run_together(engine, requests[1:])]


def main(model_dir: str, out: str) -> None:
    import torch.distributed as dist
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, tp_plan="auto").eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if dist.get_rank() != 0:
        tensor_parallel.follow(tensor_parallel.follower_runner(model, tokenizer, "cpu", prefix_cache_tokens=8192))
        tensor_parallel.shutdown()
        return
    engine = engine_over(model, tokenizer)
    try:
        result = generate_all(engine)
    finally:
        engine.close()
    with open(out, "w") as f:
        json.dump(result, f)
    tensor_parallel.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
