"""The processes of the stack as command lines: a Celery worker (or a torchrun group of them),
the API under gunicorn, Flower; and the one-time model conversion they all need first."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys

from app.config import Config
from app.errors import ConfigError
from app.jobs.routing import queue_for


def worker_command(config: Config) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "workers.main", "worker",
        "--queues", queue_for(config.worker.queue, config.model.name),  # its model's own queue
        # Threads share one engine per process; the engine itself serializes or batches.
        "--pool", "threads",
        "--concurrency", str(config.worker.task_threads),
        "--prefetch-multiplier", str(config.worker.prefetch_multiplier),
        "--hostname", f"llmjobs-{os.getpid()}@%h",
        "--without-gossip", "--without-mingle",
        "--task-events",
        "--loglevel", "INFO",
    ]  # fmt: skip


def webhook_worker_command(config: Config) -> list[str]:
    """The webhook deliverer: a Celery worker on the webhook queue only, gevent greenlets (deliveries wait on receivers)."""
    return [
        sys.executable, "-m", "celery", "-A", "workers.webhook_main", "worker",
        "--queues", config.webhooks.queue,
        "--pool", "gevent",
        "--concurrency", str(config.webhooks.concurrency),
        "--prefetch-multiplier", "1",
        "--hostname", f"llmjobs-webhooks-{os.getpid()}@%h",
        "--without-gossip", "--without-mingle",
        "--task-events",
        "--loglevel", "INFO",
    ]  # fmt: skip


def tensor_parallel_command(config: Config) -> list[str]:
    """One worker over LLMJOBS_TENSOR_PARALLEL devices: torchrun starts a process per device."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(config.model.tensor_parallel),
        "-m",
        "workers.tp_main",
    ]


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
    if not config.model.is_prepared:
        subprocess.run([sys.executable, "-m", "app.cli", "prepare"], check=True)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_exposure(config: Config) -> None:
    """Refuse to serve the API beyond this machine with no API keys, unless told so explicitly."""
    api = config.api
    if not is_loopback(api.host) and not api.api_keys and not api.allow_anonymous:
        raise ConfigError(
            "LLMJOBS_HOST",
            f"is {api.host}, reachable from other machines, and no API keys are set: anyone who reaches it could use it. "
            "Set LLMJOBS_API_KEYS_FILE (llmjobs keys new TENANT) or LLMJOBS_API_KEYS, bind to 127.0.0.1, "
            "or set LLMJOBS_ALLOW_ANONYMOUS=1 to serve it open on purpose",
        )
