"""The playground page: one static HTML file, no build step."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

from api.auth import require_tenant_unless_public

bp = Blueprint("page", __name__)  # no static folder: only the files named below are served
ASSETS = {"uPlot.iife.min.js", "uPlot.min.css"}  # uPlot 1.6.32 (MIT, uPlot.LICENSE), vendored: the page works offline
bp.before_request(require_tenant_unless_public)
STATIC = Path(__file__).with_name("static")


@bp.get("/")
def playground():
    """Type a prompt, watch the answer stream in, cancel it, see its timings."""
    return send_from_directory(STATIC, "playground.html", max_age=0)


@bp.get("/jobs")
def jobs_page():
    """The caller's jobs and batches, live, with the operator strip: queue, workers, tok/s, TTFT p95, errors."""
    return send_from_directory(STATIC, "jobs.html", max_age=0)


@bp.get("/static/<path:filename>")
def asset(filename: str):
    """The page's vendored chart library."""
    if filename not in ASSETS:
        abort(404, f"no static file {filename!r}")
    return send_from_directory(STATIC, filename, max_age=86400)
