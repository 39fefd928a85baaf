"""Run under ``torchrun --nproc-per-node 2``: rank 0 generates with the batching engine over a
tensor-parallel model and writes the tokens; rank 1 follows its forward passes."""

import json
import sys

from app.engine import tensor_parallel


def main(model_dir: str, out: str) -> None:
    import torch.distributed as dist
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, tp_plan="auto").eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if dist.get_rank() != 0:
        tensor_parallel.follow(tensor_parallel.follower_runner(model, tokenizer, "cpu", prefix_cache_tokens=8192))
        tensor_parallel.shutdown()
        return
    from tests.integration.test_tensor_parallel import engine_over, generate_all

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
