"""The ``llmjobs`` command: ``prepare``, ``worker``, ``api`` and ``up`` (all of them).

Each subcommand validates the configuration first, so a bad variable stops it
with one line naming the variable. ``worker`` and ``api`` replace this process
with Celery and gunicorn; this module imports neither.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys

from app import flags_cli
from app.config import Config, load_config
from app.errors import ConfigError, ModelNotPreparedError
from app.models import is_prepared, prepare


def worker_command(config: Config) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "workers.main", "worker",
        "--queues", config.worker.queue,
        # Threads share one engine per process; the engine itself serializes or batches.
        "--pool", "threads",
        "--concurrency", str(config.worker.task_threads),
        "--prefetch-multiplier", str(config.worker.prefetch_multiplier),
        "--hostname", f"llmjobs-{os.getpid()}@%h",
        "--without-gossip", "--without-mingle",
        "--task-events",
        "--loglevel", "INFO",
    ]  # fmt: skip


def tensor_parallel_command(config: Config) -> list[str]:
    """One worker over LLMJOBS_TENSOR_PARALLEL devices: torchrun starts a process per device."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(config.model.tensor_parallel), "-m", "workers.tp_main"]


def api_command(config: Config) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{config.api.host}:{config.api.port}",
        "--workers", str(config.api.workers),
        "--worker-class", config.api.worker_class,
        "--worker-connections" if config.api.worker_class == "gevent" else "--threads", str(config.api.connections),
        "--graceful-timeout", "10",
        "--access-logfile", "-",
        "--config", "python:api.gunicorn_conf",  # prometheus-client's multiprocess mode for /metrics
        "api:create_app()",
    ]  # fmt: skip


def flower_command(config: Config) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.main", "flower", f"--port={config.flower_port}", "--address=127.0.0.1"]


# Flower bound to loopback may serve its HTTP API without authentication (Flower 2 refuses otherwise).
FLOWER_ENV = {"FLOWER_UNAUTHENTICATED_API": "true"}


def ensure_prepared(config: Config) -> None:
    """Convert the default model in a child process, so this one never holds the weights."""
    if not is_prepared(config.model):
        subprocess.run([sys.executable, "-m", "app.cli", "prepare"], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmjobs", description="Asynchronous LLM inference jobs over Celery and Redis.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="convert the default model once (GGUF -> safetensors)")
    sub.add_parser("worker", help="run one Celery worker with the model")
    sub.add_parser("api", help="serve the HTTP API with gunicorn")
    sub.add_parser("up", help="prepare, then run Redis (if none answers), a worker, the API and Flower")
    sub.add_parser("bench", help="the benchmark tool: same as `python -m loadtest ...`", add_help=False)
    flags_cli.add_parser(sub)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        os.execv(sys.executable, [sys.executable, "-m", "loadtest", *rest])
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config()
        if args.command == "prepare":
            folder = prepare(config.model)
            print(f"model ready: {folder or config.model.model}")
            return 0
        if args.command == "worker":
            ensure_prepared(config)
            if config.model.tensor_parallel > 1:
                os.execv(sys.executable, tensor_parallel_command(config))
            os.execv(sys.executable, worker_command(config))
        if args.command == "api":
            ensure_prepared(config)
            os.execv(sys.executable, api_command(config))
        if args.command == "flags":
            return flags_cli.run(args, config)
        from app.stack import run_stack

        return run_stack(config)
    except ConfigError as exc:
        print(f"llmjobs: configuration error: {exc}", file=sys.stderr)
        return 2
    except (ModelNotPreparedError, subprocess.CalledProcessError) as exc:
        print(f"llmjobs: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
