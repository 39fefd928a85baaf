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
    from app.engine.llm_engine import BatchingEngine
    from app.engine.model_runner import ModelRunner
    from app.engine.prefix_cache import PrefixCache

    if dist.get_rank() != 0:
        tensor_parallel.follow(ModelRunner(model, pad_token_id=tokenizer.eos_token_id, device="cpu", prefix_cache=PrefixCache(max_tokens=8192)))
        return
    from tests.integration.test_tensor_parallel import generate_all

    engine = BatchingEngine(model, tokenizer, device="cpu", model_name="tiny", context_length=2048, time_limit_s=120,
                            max_num_seqs=8, max_num_batched_tokens=512, max_kv_tokens=65536)
    try:
        result = generate_all(engine)
    finally:
        engine.close()
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
