"""``POST /v1/embeddings``: OpenAI's embeddings route, served by all-MiniLM-L6-v2 (384 dimensions),
the sentence-embedding model the API already holds for the result cache's semantic tier (loaded on
first use where that tier is off). One endpoint serves chat and retrieval clients alike."""

from __future__ import annotations

import base64
import threading

import numpy as np
from flask import Blueprint, current_app

from api.auth import require_tenant
from api.errors import ApiError
from api.openai_schemas import EMBEDDING_MODEL, EmbeddingRequest, parse_openai
from api.services import services
from api.view_helpers import json_body
from app.errors import InvalidRequestError
from cache.embedder import DIMENSIONS, Embedder

bp = Blueprint("embeddings", __name__, url_prefix="/v1")
bp.before_request(require_tenant)

MODEL_NAMES = (EMBEDDING_MODEL, f"sentence-transformers/{EMBEDDING_MODEL}")
MAX_INPUTS = 256
_loading = threading.Lock()


@bp.post("/embeddings")
def embeddings():
    """Unit-length embeddings of one text or a batch, in OpenAI's shape with ``usage``."""
    body = parse_openai(EmbeddingRequest, json_body())
    texts = check(body)
    embedder = the_embedder()
    counts = [embedder.num_tokens(text) for text in texts]
    too_long = [i for i, n in enumerate(counts) if n > embedder.max_tokens]
    if too_long:
        message = f"input[{too_long[0]}] has {counts[too_long[0]]} tokens; {EMBEDDING_MODEL} reads at most {embedder.max_tokens}"
        raise InvalidRequestError("input", message)
    vectors = embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    data = [{"object": "embedding", "index": i, "embedding": encode(v, body.encoding_format)} for i, v in enumerate(vectors)]
    usage = {"prompt_tokens": sum(counts), "total_tokens": sum(counts)}
    return {"object": "list", "data": data, "model": EMBEDDING_MODEL, "usage": usage}


def check(body: EmbeddingRequest) -> list[str]:
    if body.model not in MODEL_NAMES:
        message = f"The model `{body.model}` does not exist. This server embeds with `{EMBEDDING_MODEL}`."
        raise ApiError(404, "invalid_request_error", message, param="model", code="model_not_found")
    if body.dimensions not in (None, DIMENSIONS):
        raise InvalidRequestError("dimensions", f"dimensions: {EMBEDDING_MODEL} gives {DIMENSIONS} (no other size)")
    texts = [body.input] if isinstance(body.input, str) else body.input
    if len(texts) > MAX_INPUTS or any(not text for text in texts):
        raise InvalidRequestError("input", f"input: 1 to {MAX_INPUTS} non-empty strings")
    return texts


def the_embedder() -> Embedder:
    """The result cache's embedder where it has one; else one of our own, loaded once per process."""
    cached = services().submitter.cache.embedder
    if cached is not None:
        return cached
    with _loading:
        if "llmjobs.embedder" not in current_app.extensions:
            current_app.extensions["llmjobs.embedder"] = Embedder()
        return current_app.extensions["llmjobs.embedder"]


def encode(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    """float: a list; base64: the little-endian float32 bytes (what the openai client asks for by default)."""
    vector = vector.astype("<f4", copy=False)
    return base64.b64encode(vector.tobytes()).decode() if encoding_format == "base64" else vector.tolist()
