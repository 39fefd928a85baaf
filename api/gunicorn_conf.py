"""gunicorn settings that `llmjobs api` adds: prometheus-client's multiprocess mode, slow-client
bounds, access and error logs that never show a secret from a URL, and the heavy libraries imported
once in the master so that its forked workers share them.

gunicorn's workers are separate processes; for ``/metrics`` to count every request whichever
process served it, prometheus-client keeps each process's values in memory-mapped files in one
folder, which must exist and be empty before the workers start, and forgets a worker's live
gauges when it exits (https://prometheus.github.io/client_python/multiprocess/).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile

from gunicorn.glogging import Logger

# Slow clients. The gevent worker must read a request's headers within `keepalive` seconds (the
# first request's too): a client trickling them is dropped after 5 s. Bodies get
# LLMJOBS_BODY_TIMEOUT (api/body_deadline.py). A request line or header over these sizes is a 400.
keepalive = 5
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Query parameters that may carry a secret: an old client's `?api_key=`, a stream token. The value
# is replaced in every access and error log line (gunicorn logs the URL of a request that failed).
SECRET_PARAMS = re.compile(r"((?:^|[?&;\s])(?:api_key|token|stream_token|access_token|key|password)=)[^&;\s\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    return SECRET_PARAMS.sub(r"\1[redacted]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


class RedactingLogger(Logger):
    """gunicorn's logger with every line passed through :func:`redact`."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactingFilter())


logger_class = RedactingLogger


def preload_libraries(gevent: bool) -> None:
    """Import torch, transformers and sentence-transformers (the tokenizer's and the result cache's
    embedder's libraries: ~290 MiB of a worker's private memory) in the master, before it forks.

    The workers then share those pages until they write them: with 2 workers the API's total PSS went
    from 1,102 to 1,021 MiB, each further worker costs 357 MiB instead of 536, and the API is ready
    in 12 s instead of 32 (README → Capacity). The app itself is still built in each worker (its
    Redis connections and threads must not cross a fork). Under gevent the master patches first, as
    its workers would: locks and sockets made while importing must be gevent's too. But not ``os``,
    ``signal`` and ``subprocess``: patched, the master's SIGCHLD goes to gevent's child watchers instead of
    gunicorn's handler, so a worker killed with SIGKILL is never reaped nor replaced (the API stays down;
    loadtest/batch_chaos.py's api-kill found it). Each worker patches them itself after the fork."""
    if gevent:
        from gevent import monkey

        monkey.patch_all(os=False, signal=False, subprocess=False)
    import sentence_transformers  # noqa: F401  (imports torch and transformers)
    import spacy  # noqa: F401  (the result cache guard's tagger, cache/guard.py; its model loads in each worker)


def on_starting(server) -> None:
    preload_libraries(gevent=server.cfg.worker_class_str == "gevent")
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
