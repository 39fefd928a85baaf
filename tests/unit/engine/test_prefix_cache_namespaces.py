"""The prefix cache keeps each LoRA adapter's KV apart: the same tokens under another adapter are a miss."""

import torch

from app.engine.prefix_cache import PrefixCache


def kv(length: int, value: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.full((1, 1, length, 2), value), torch.full((1, 1, length, 2), value))]


def test_a_prefix_stored_under_one_adapter_serves_only_that_adapter():
    cache = PrefixCache(block_size=4, max_tokens=64)
    prompt = list(range(9))
    cache.put(prompt, kv(9, 1.0), "adapter-a")
    cache.put(prompt, kv(9, 2.0))  # the base model's own
    assert cache.longest(prompt + [9], "adapter-b") == 0
    assert cache.longest(prompt + [9], "adapter-a") == 8 == cache.longest(prompt + [9])
    assert cache.get(prompt + [9], 8, "adapter-a")[0][0].unique().item() == 1.0
    assert cache.get(prompt + [9], 8)[0][0].unique().item() == 2.0
