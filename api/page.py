"""The playground page: one static HTML file, no build step."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

from api.auth import require_tenant_unless_public

bp = Blueprint("page", __name__)  # no static folder: nothing else under api/static is served
bp.before_request(require_tenant_unless_public)
STATIC = Path(__file__).with_name("static")


@bp.get("/")
def playground():
    """Type a prompt, watch the answer stream in, cancel it, see its timings."""
    return send_from_directory(STATIC, "playground.html", max_age=0)
