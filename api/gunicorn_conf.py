"""gunicorn settings that `llmjobs api` adds: prometheus-client's multiprocess mode.

gunicorn's workers are separate processes; for ``/metrics`` to count every request whichever
process served it, prometheus-client keeps each process's values in memory-mapped files in one
folder, which must exist and be empty before the workers start, and forgets a worker's live
gauges when it exits (https://prometheus.github.io/client_python/multiprocess/).
"""

from __future__ import annotations

import os
import shutil
import tempfile


def on_starting(server) -> None:
    folder = tempfile.mkdtemp(prefix="llmjobs-metrics-")  # new and empty for every start
    os.environ.update(PROMETHEUS_MULTIPROC_DIR=folder)  # inherited by the workers gunicorn forks next
    server.llmjobs_metrics_dir = folder


def on_exit(server) -> None:
    shutil.rmtree(getattr(server, "llmjobs_metrics_dir", ""), ignore_errors=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker) -> None:
    """Stop the background threads the app factory started (flag poller, event hub)."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("llmjobs") if app is not None else None
    if services is not None:
        services.stop()
