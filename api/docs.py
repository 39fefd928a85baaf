"""``GET /openapi.json`` and the docs page ``/docs`` (Swagger UI, its files from a package: no CDN)."""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response, send_from_directory

from api.auth import require_tenant_unless_public
from api.openapi import document

bp = Blueprint("docs", __name__)
bp.before_request(require_tenant_unless_public)
# Swagger UI 5 (OpenAPI 3.1), as the flask-openapi3-swagger package ships it.
ASSETS = files("flask_openapi3_swagger") / "templates" / "swagger"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>llmjobs API</title><link rel="stylesheet" href="/docs/assets/css/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/js/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>
"""


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of every route."""
    return document()


@bp.get("/docs")
def docs_page():
    """Interactive API docs that work offline."""
    return Response(PAGE, mimetype="text/html")


@bp.get("/docs/assets/<path:name>")
def docs_asset(name: str):
    return send_from_directory(str(ASSETS), name, max_age=3600)
