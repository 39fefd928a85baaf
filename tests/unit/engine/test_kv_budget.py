"""The KV budget: bytes per token from the model's shape, and the configured budget lowered to what fits."""

from types import SimpleNamespace

import app.engine.kv_budget as kv_budget


def test_kv_bytes_per_token_follows_the_model_shape():
    smollm2 = SimpleNamespace(num_hidden_layers=30, num_key_value_heads=3, num_attention_heads=9, hidden_size=576)
    assert kv_budget.kv_bytes_per_token(smollm2, 4) == 2 * 30 * 3 * 64 * 4
    mistral = SimpleNamespace(num_hidden_layers=32, num_key_value_heads=8, num_attention_heads=32, hidden_size=4096, head_dim=128)
    assert kv_budget.kv_bytes_per_token(mistral, 2) == 131072  # 128 KiB per token in bf16


def test_the_budget_is_lowered_to_what_fits(monkeypatch):
    param = SimpleNamespace(element_size=lambda: 2)
    shape = SimpleNamespace(num_hidden_layers=32, num_key_value_heads=8, num_attention_heads=32, hidden_size=4096, head_dim=128)
    model = SimpleNamespace(config=shape, parameters=lambda: iter([param]))
    monkeypatch.setattr(kv_budget, "free_memory_bytes", lambda device: 10 * 2**30)  # 10 GiB free after the weights
    assert kv_budget.kv_tokens_that_fit(model, "cuda", 1 << 30) == int(10 * 2**30 * kv_budget.KV_MEMORY_FRACTION) // 131072
    assert kv_budget.kv_tokens_that_fit(model, "cuda", 4096) == 4096  # the configured budget when it fits
