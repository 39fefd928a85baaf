"""llama.cpp's CPU kernels as a forward pass: a GGUF model, one context, one batch per step.

Through ``llama-cpp-python``'s own bindings of ``llama.h`` (not its high-level ``Llama`` class,
which runs one sequence at a time): :meth:`LlamaCppModel.forward` puts every row's new tokens in one
``llama_batch`` (one sequence id per row, its positions after what the row's KV already holds) and
runs one ``llama_decode``, so rows share each weight read exactly as the lean runner's batch does.
The KV cache is llama.cpp's, unified: ``n_ctx`` cells shared by all sequences, the scheduler's KV
budget. Sampling, stops, structured outputs and everything else stay the engine's.

Measured here (docs/BENCHMARKS_LOG.md, issue 32): on the default model's Q4_1 file a request alone
decodes ~2x faster than the lean runner; 32 rows together are no faster than the lean runner's
float16-weight matrix products, and a burst's prefill is slower, so ``auto`` keeps the lean runner.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
from pathlib import Path

import numpy as np
import torch


def available() -> str | None:
    """Why llama.cpp's kernels cannot run here, or None when they can."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "the llama-cpp-python package is not installed"
    return None


class LlamaCppError(RuntimeError):
    pass


log = logging.getLogger("llmjobs.llamacpp")
_LEVELS = {3: logging.WARNING, 4: logging.ERROR}  # ggml.h: 1 debug, 2 info, 3 warn, 4 error, 5 continued


def _log(level: int, text: bytes, _user_data: object) -> None:
    """llama.cpp's log into Python's logging; its load-time chatter (info, debug) is dropped."""
    if level in _LEVELS:
        log.log(_LEVELS[level], "%s", text.decode("utf-8", "replace").rstrip())


def _python_log_callback():
    import llama_cpp

    return llama_cpp.llama_log_callback(_log)


class LlamaCppModel:
    def __init__(self, path: Path, *, n_ctx: int, n_batch: int, n_seq_max: int, threads: int) -> None:
        import llama_cpp as lc

        self.lc = lc
        self._log_callback = _python_log_callback()  # kept: llama.cpp holds only the pointer
        lc.llama_log_set(self._log_callback, ctypes.c_void_p(0))
        lc.llama_backend_init()
        model_params = lc.llama_model_default_params()
        self.model = lc.llama_model_load_from_file(str(path).encode(), model_params)
        if not self.model:
            raise LlamaCppError(f"llama.cpp could not load {path}")
        params = lc.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = n_ctx, n_batch, n_batch  # one ubatch a step: every row in one graph
        params.n_seq_max, params.n_threads, params.n_threads_batch = n_seq_max, threads, threads
        params.kv_unified, params.no_perf = False, True  # one KV stream a sequence: see llamacpp_runner.py
        params.flash_attn_type = lc.LLAMA_FLASH_ATTN_TYPE_ENABLED  # measured 1.13x at 32 rows here, the same alone
        self.ctx = lc.llama_init_from_model(self.model, params)
        if not self.ctx:
            raise LlamaCppError(f"llama.cpp could not make a context of {n_ctx} cells for {n_seq_max} sequences")
        self.memory = lc.llama_get_memory(self.ctx)
        self.vocab_size = lc.llama_vocab_n_tokens(lc.llama_model_get_vocab(self.model))
        self.n_batch = n_batch
        self.batch = lc.llama_batch_init(n_batch, 0, 1)

    def forward(self, rows: list[tuple[int, int, list[int], bool]]) -> torch.Tensor:
        """Rows of (sequence id, first position, tokens, logits after every token or only the last):
        feed them in one decode; returns the logits asked for, packed in row order (N, V)."""
        batch, count, outputs = self.batch, 0, 0
        for seq_id, start, tokens, every in rows:
            for offset, token in enumerate(tokens):
                if count == self.n_batch:
                    raise LlamaCppError(f"a step of more than {self.n_batch} tokens")
                wanted = every or offset == len(tokens) - 1
                batch.token[count], batch.pos[count], batch.n_seq_id[count] = token, start + offset, 1
                batch.seq_id[count][0], batch.logits[count] = seq_id, wanted
                count, outputs = count + 1, outputs + wanted
        batch.n_tokens = count
        status = self.lc.llama_decode(self.ctx, batch)
        if status != 0:  # 1: no KV cells left for the batch; <0: an error
            raise LlamaCppError(f"llama_decode returned {status}")
        logits = np.ctypeslib.as_array(self.lc.llama_get_logits(self.ctx), shape=(outputs, self.vocab_size))
        return torch.from_numpy(logits.copy())

    def forget(self, seq_id: int, start: int = 0) -> None:
        """Drop the sequence's KV from position ``start`` on."""
        self.lc.llama_memory_seq_rm(self.memory, seq_id, start, -1)

    def clear(self) -> None:
        self.lc.llama_memory_clear(self.memory, True)

    def close(self) -> None:
        if self.ctx:
            self.lc.llama_batch_free(self.batch)
            self.lc.llama_free(self.ctx)
            self.lc.llama_model_free(self.model)
            self.ctx = self.model = None
