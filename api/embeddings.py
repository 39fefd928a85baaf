"""``POST /v1/embeddings``: OpenAI's embeddings route (api/embedding_service.py computes them)."""

from __future__ import annotations

from flask import Blueprint, current_app

from api.auth import require_tenant
from api.embedding_service import Embeddings
from api.openai_schemas import EmbeddingRequest, parse_openai
from api.view_helpers import json_body

bp = Blueprint("embeddings", __name__, url_prefix="/v1")
bp.before_request(require_tenant)


@bp.post("/embeddings")
def embeddings():
    """Unit-length embeddings of one text or a batch, in OpenAI's shape with ``usage``."""
    return the_embeddings().embed(parse_openai(EmbeddingRequest, json_body()))


def the_embeddings() -> Embeddings:
    return current_app.extensions["llmjobs.embeddings"]
