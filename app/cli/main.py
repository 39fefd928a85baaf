"""The ``llmjobs`` command: ``prepare``, ``worker``, ``api``, ``up`` (all of them), ``keys``, ``batch run`` and ``webhooks``.

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

from app.cli import batch as batch_cli
from app.cli import keys as keys_cli
from app.cli import webhooks as webhooks_cli
from app.cli.commands import api_command, check_exposure, ensure_prepared, tensor_parallel_command, worker_command
from app.cli.prepare import prepare
from app.cli.stack import run_stack
from app.config import load_config
from app.errors import ConfigError, ModelNotPreparedError
from app.flags import cli as flags_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmjobs", description="Asynchronous LLM inference jobs over Celery and Redis.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="convert the default model once (GGUF -> safetensors)")
    sub.add_parser("worker", help="run one Celery worker with the model")
    sub.add_parser("api", help="serve the HTTP API with gunicorn")
    sub.add_parser("up", help="prepare, then run Redis (if none answers), a worker, the API and Flower")
    sub.add_parser("bench", help="the benchmark tool: same as `python -m loadtest ...`", add_help=False)
    flags_cli.add_parser(sub)
    keys_cli.add_parser(sub)
    batch_cli.add_parser(sub)
    webhooks_cli.add_parser(sub)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        os.execv(sys.executable, [sys.executable, "-m", "loadtest", *rest])
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "keys":
        return keys_cli.run(args)
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
        if args.command in ("api", "up"):
            check_exposure(config)
        if args.command == "api":
            ensure_prepared(config)
            os.execv(sys.executable, api_command(config))
        if args.command == "flags":
            return flags_cli.run(args, config)
        if args.command == "batch":
            return batch_cli.run(args, config)
        if args.command == "webhooks":
            return webhooks_cli.run(args, config)
        return run_stack(config)
    except ConfigError as exc:
        print(f"llmjobs: configuration error: {exc}", file=sys.stderr)
        return 2
    except (ModelNotPreparedError, subprocess.CalledProcessError) as exc:
        print(f"llmjobs: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
