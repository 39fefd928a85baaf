"""How many tokens of KV the batching engine may reserve: the configured budget, lowered to what
fits in the memory left after the weights loaded."""

from __future__ import annotations

import sys
from pathlib import Path

KV_MEMORY_FRACTION = 0.8  # of the memory free after the weights loaded: leave room for activations


def kv_bytes_per_token(model_config: object, dtype_bytes: int) -> int:
    """Keys and values of one token across every layer."""
    layers = model_config.num_hidden_layers
    heads = getattr(model_config, "num_key_value_heads", None) or model_config.num_attention_heads
    head_dim = getattr(model_config, "head_dim", None) or model_config.hidden_size // model_config.num_attention_heads
    return 2 * layers * heads * head_dim * dtype_bytes


def free_memory_bytes(device: str) -> int | None:
    """What the device has free now: CUDA's free memory, or the host's available memory."""
    torch = sys.modules.get("torch")
    if device.startswith("cuda") and torch is not None:
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def kv_tokens_that_fit(model: object, device: str, configured: int) -> int:
    """The KV budget in tokens: the configured one, lowered to what fits in the memory free after
    the weights loaded (so admission, not an out-of-memory error, is what limits the batch)."""
    free = free_memory_bytes(device)
    if free is None:
        return configured
    dtype_bytes = next(model.parameters()).element_size()  # type: ignore[attr-defined]
    fits = int(free * KV_MEMORY_FRACTION) // kv_bytes_per_token(model.config, dtype_bytes)  # type: ignore[attr-defined]
    return max(1, min(configured, fits))
