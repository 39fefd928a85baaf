"""A tensor-parallel worker, one process per device under ``torchrun`` (``llmjobs worker`` starts it
when ``LLMJOBS_TENSOR_PARALLEL`` > 1). Every rank loads its shard of the model together (the
load is a collective); rank 0 then runs the Celery worker and the engine, the others repeat its
forward passes (app/engine/tensor_parallel.py) until it stops."""

from __future__ import annotations

import logging
import sys

import torch.distributed as dist

from app.config import load_config
from app.engine.loader import load_model
from app.engine.tensor_parallel import follow, follower_runner, shutdown


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config()
    model, tokenizer, device = load_model(config.model)
    if dist.get_rank() != 0:
        follow(follower_runner(model, tokenizer, device, config.worker.prefix_cache_tokens))
        shutdown()
        return 0
    from app.cli.commands import worker_command
    from workers.engine_host import get_host
    from workers.main import celery

    get_host().preloaded = (model, tokenizer, device)
    argv = worker_command(config)
    celery.worker_main(argv=argv[argv.index("worker") :])
    shutdown()  # the engine closed on worker shutdown, which released the followers
    return 0


if __name__ == "__main__":
    sys.exit(main())
