"""The playground page: one static HTML file, no build step."""

from __future__ import annotations

from flask import Blueprint, send_from_directory

bp = Blueprint("page", __name__, static_folder="static")


@bp.get("/")
def playground():
    """Type a prompt, watch the answer stream in, cancel it, see its timings."""
    return send_from_directory(bp.static_folder, "playground.html", max_age=0)
