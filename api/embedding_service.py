"""OpenAI's embeddings, computed in the API process by all-MiniLM-L6-v2 (384 dimensions): the
sentence-embedding model the API already holds for the result cache's semantic tier (loaded on first
use where that tier is off). Shared by ``POST /v1/embeddings`` and the batch lines of that endpoint."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from api.errors import ApiError
from api.openai_schemas import EMBEDDING_MODEL, EmbeddingRequest
from app.errors import InvalidRequestError
from cache.embedder import DIMENSIONS, Embedder

MODEL_NAMES = (EMBEDDING_MODEL, f"sentence-transformers/{EMBEDDING_MODEL}")
MAX_INPUTS = 256


class Embeddings:
    def __init__(self, cached: Callable[[], Embedder | None]) -> None:
        self.cached = cached  # the result cache's embedder, where it has one
        self._own: Embedder | None = None
        self._loading = threading.Lock()

    def embedder(self) -> Embedder:
        cached = self.cached()
        if cached is not None:
            return cached
        with self._loading:
            if self._own is None:
                self._own = Embedder()
            return self._own

    def embed(self, body: EmbeddingRequest) -> dict[str, Any]:
        """Unit-length embeddings of one text or a batch, in OpenAI's shape with ``usage``."""
        texts = check(body)
        embedder = self.embedder()
        counts = [embedder.num_tokens(text) for text in texts]
        too_long = [i for i, n in enumerate(counts) if n > embedder.max_tokens]
        if too_long:
            message = f"input[{too_long[0]}] has {counts[too_long[0]]} tokens; {EMBEDDING_MODEL} reads at most {embedder.max_tokens}"
            raise InvalidRequestError("input", message)
        vectors = embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        data = [{"object": "embedding", "index": i, "embedding": encode(v, body.encoding_format)} for i, v in enumerate(vectors)]
        usage = {"prompt_tokens": sum(counts), "total_tokens": sum(counts)}
        return {"object": "list", "data": data, "model": EMBEDDING_MODEL, "usage": usage}


def unknown_model(model: str) -> str | None:
    """Why ``model`` is not the embedding model, or None."""
    if model in MODEL_NAMES:
        return None
    return f"The model `{model}` does not exist. This server embeds with `{EMBEDDING_MODEL}`."


def check(body: EmbeddingRequest) -> list[str]:
    unknown = unknown_model(body.model)
    if unknown is not None:
        raise ApiError(404, "invalid_request_error", unknown, param="model", code="model_not_found")
    if body.dimensions not in (None, DIMENSIONS):
        raise InvalidRequestError("dimensions", f"dimensions: {EMBEDDING_MODEL} gives {DIMENSIONS} (no other size)")
    texts = [body.input] if isinstance(body.input, str) else body.input
    if len(texts) > MAX_INPUTS or any(not text for text in texts):
        raise InvalidRequestError("input", f"input: 1 to {MAX_INPUTS} non-empty strings")
    return texts


def encode(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    """float: a list; base64: the little-endian float32 bytes (what the openai client asks for by default)."""
    vector = vector.astype("<f4", copy=False)
    return base64.b64encode(vector.tobytes()).decode() if encoding_format == "base64" else vector.tolist()
