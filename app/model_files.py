"""What the API needs of the model without its weights: the tokenizer, the context length and the
fingerprint that keys the result cache. transformers is imported inside the functions; the
weights load in the worker (app/engine/loader.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from app.config import ModelConfig


def fingerprint(config: ModelConfig) -> str:
    """What identifies the answers this model gives: its name, weights revision and numerics.

    The revision of a local folder hashes its config and its weight files' names and sizes
    (not their bytes: hashing gigabytes at every API start would cost seconds); a hub id
    stands for itself. The result cache keys every answer by this string.
    """
    source = config.source()
    parts = [source.name, config.dtype, config.quantization, str(config.max_model_len)]
    if config.runner == "llamacpp":  # its kernels give other numerics; earlier keys stay valid for the others
        parts.append("llamacpp")
    folder = Path(source.path)
    if source.local and folder.is_dir():
        digest = hashlib.sha256((folder / "config.json").read_bytes() if (folder / "config.json").exists() else b"")
        for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
        parts.append(digest.hexdigest()[:16])
    return "/".join(parts)


def load_tokenizer(config: ModelConfig) -> Any:
    source = config.source()
    return tokenizer_at(source.path, local=source.local)


def tokenizer_at(path: str, *, local: bool) -> Any:
    """The tokenizer of the model at ``path`` (a folder, or a hub id where a hub is reachable)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, local_files_only=local)


def context_length(config: ModelConfig) -> int:
    """Tokens of context (prompt + output), read from the model's config file (not its weights)."""
    if config.max_model_len:
        return config.max_model_len
    from transformers import AutoConfig

    source = config.source()
    return config.context_length_of(AutoConfig.from_pretrained(source.path, local_files_only=source.local))
