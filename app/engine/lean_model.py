"""A lean forward pass for the Llama family (Llama, SmolLM2, Mistral, Qwen2), in the spirit of
nano-vllm and gpt-fast: the decoder written out here over the loaded model's own weights.

Why not the transformers forward: on a CPU a 30-layer model spends more time in the Python
around each layer (modules, hooks, cache objects, per-layer mask handling, padded batches) than
in its matrix products. Here tokens of every sequence in a step are packed into one (N, hidden)
matrix without padding, q/k/v and gate/up are each one fused matrix product, the attention mask
and rotary tables are built once per step for all layers, and keys/values go straight into the
preallocated slots of :class:`~app.engine.kv_slots.SlotKV`. Weights are taken from the model
transformers loaded (after ``LLMJOBS_QUANTIZATION`` was applied), so both runners read the same
numbers; only the order of a few floating-point operations differs.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from app.engine.kv_slots import SlotKV
from app.engine.lean_step import StepLayout
from app.engine.lora_stack import LoraStep

ARCHITECTURES = ("llama", "mistral", "qwen2")
FORMATS = ("none", "fp16-weights")  # weight formats whose matrices the lean runner can hold


def unsupported(model: Any, device: str) -> str | None:
    """Why the lean runner cannot run ``model`` here, or None when it can."""
    config = model.config
    if device != "cpu":
        return f"the lean runner runs on the CPU only; this worker uses {device}"
    if config.model_type not in ARCHITECTURES:
        return f"model type {config.model_type!r} is not one of {', '.join(ARCHITECTURES)}"
    if getattr(config, "hidden_act", "silu") != "silu":
        return f"activation {config.hidden_act!r} (the lean runner has SiLU)"
    quantization = getattr(model, "llmjobs_quantization", "none")
    if quantization not in FORMATS:
        return f"weight format {quantization!r} (the lean runner holds {', '.join(FORMATS)})"
    return None


def _weight_bias(module: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(weight, bias) of an ``nn.Linear`` or of the dynamic-quantized Linear ``fp16-weights`` made."""
    if isinstance(module, torch.nn.Linear):
        return module.weight.detach(), None if module.bias is None else module.bias.detach()
    weight, bias = module._weight_bias()  # torch.ao dynamic Linear: float16 weights come back as float32
    return (weight.dequantize() if weight.is_quantized else weight), bias


def _share(dense: Dense, module: Any, fp16: bool) -> bool:
    """Point ``dense`` at ``module``'s own weights when they are already in the wanted format."""
    if fp16 and hasattr(module, "_packed_params") and module._packed_params.dtype == torch.float16:
        dense.packed = module._packed_params._packed_params
        return True
    if not fp16 and isinstance(module, torch.nn.Linear):
        dense.weight = module.weight.detach()
        dense.bias = None if module.bias is None else module.bias.detach()
        return True
    return False


class Dense:
    """``x @ W.T + b`` over the rows of ``modules`` fused into one matrix, in the model's format."""

    def __init__(self, modules: list[Any], fp16: bool) -> None:
        self.fp16 = fp16
        if len(modules) == 1 and _share(self, modules[0], fp16):
            return  # nothing to fuse: read the loaded model's own matrix (no second copy in memory)
        pairs = [_weight_bias(module) for module in modules]
        weight = torch.cat([w for w, _ in pairs])
        biases = [b if b is not None else torch.zeros(w.shape[0], dtype=w.dtype) for w, b in pairs]
        bias = torch.cat(biases) if any(b is not None for _, b in pairs) else None
        if fp16:  # fbgemm: float16 weights, float32 arithmetic (the `fp16-weights` format)
            self.packed = torch.ops.quantized.linear_prepack_fp16(weight.float().contiguous(), bias)
        else:
            self.weight, self.bias = weight.contiguous(), bias

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.fp16:
            return torch.ops.quantized.linear_dynamic_fp16(x, self.packed)
        return F.linear(x, self.weight, self.bias)


class _Layer:
    def __init__(self, layer: Any, fp16: bool) -> None:
        attn, mlp = layer.self_attn, layer.mlp
        self.qkv = Dense([attn.q_proj, attn.k_proj, attn.v_proj], fp16)
        self.o = Dense([attn.o_proj], fp16)
        self.gate_up = Dense([mlp.gate_proj, mlp.up_proj], fp16)
        self.down = Dense([mlp.down_proj], fp16)
        self.norm1, self.norm2 = layer.input_layernorm.weight.detach(), layer.post_attention_layernorm.weight.detach()


class LeanModel:
    def __init__(self, model: Any) -> None:
        config = model.config
        fp16 = getattr(model, "llmjobs_quantization", "none") == "fp16-weights"
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = getattr(config, "num_key_value_heads", None) or self.num_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.num_heads
        self.hidden = config.hidden_size
        self.eps = config.rms_norm_eps
        self.window = getattr(config, "sliding_window", None) if getattr(config, "use_sliding_window", True) else None
        self.scale = self.head_dim**-0.5
        self.num_layers = config.num_hidden_layers
        self.dtype = model.model.embed_tokens.weight.dtype
        self.embed = model.model.embed_tokens.weight.detach()
        self.layers = [_Layer(layer, fp16) for layer in model.model.layers]
        self.norm = model.model.norm.weight.detach()
        self.lm_head = Dense([model.lm_head], fp16)
        self._rotary = model.model.rotary_emb
        self._cos = self._sin = torch.empty(0)

    def kv_cache(self, num_slots: int, max_len: int) -> SlotKV:
        self._tables(max_len)
        return SlotKV(
            num_layers=self.num_layers,
            num_slots=num_slots,
            max_len=max_len,
            num_kv_heads=self.num_kv_heads,
            head_dim=self.head_dim,
            dtype=self.dtype,
            device="cpu",
        )

    def _tables(self, max_len: int) -> None:
        """cos/sin of every position, from the model's own rotary module (so every RoPE scaling
        transformers knows applies); the sine's first half negated, so that rotating is
        ``x * cos + roll(x, D/2) * sin``."""
        positions = torch.arange(max_len).unsqueeze(0)
        cos, sin = self._rotary(self.embed[:1].unsqueeze(0), positions)
        half = self.head_dim // 2
        self._cos = cos[0].to(self.dtype).unsqueeze(1)  # (max_len, 1, D): broadcasts over heads
        self._sin = torch.cat([-sin[0, :, :half], sin[0, :, half:]], dim=-1).to(self.dtype).unsqueeze(1)

    @torch.inference_mode()
    def forward(self, token_ids: torch.Tensor, step: StepLayout, kv: SlotKV, lora: LoraStep | None = None) -> torch.Tensor:
        """Run the packed tokens of one step (their slots and positions in ``step``); their KV is
        written to ``kv``; ``lora`` adds each token's adapter, if any. Returns the final hidden
        states (N, hidden), normed."""
        heads, kv_heads, dim = self.num_heads, self.num_kv_heads, self.head_dim
        cos, sin = self._cos[step.positions], self._sin[step.positions]
        mask = step.mask(self.window)
        x = F.embedding(token_ids, self.embed)
        n = x.shape[0]
        for index, layer in enumerate(self.layers):
            h = F.rms_norm(x, (self.hidden,), layer.norm1, self.eps)
            qkv = layer.qkv(h)
            if lora is not None:
                lora.add(index, "qkv", h, qkv)
            qk = qkv[:, : (heads + kv_heads) * dim].view(n, heads + kv_heads, dim)
            qk = qk * cos + qk.roll(dim // 2, dims=-1) * sin
            q, k = qk[:, :heads], qk[:, heads:]
            v = qkv[:, (heads + kv_heads) * dim :].view(n, kv_heads, dim)
            attended = step.attend(q, k, v, kv.keys[index], kv.values[index], mask, self.scale)
            out = layer.o(attended)
            if lora is not None:
                lora.add(index, "o", attended, out)
            x = x + out
            h = F.rms_norm(x, (self.hidden,), layer.norm2, self.eps)
            gate_up = layer.gate_up(h)
            if lora is not None:
                lora.add(index, "gate_up", h, gate_up)
            gate, up = gate_up.chunk(2, dim=-1)
            act = F.silu(gate) * up
            out = layer.down(act)
            if lora is not None:
                lora.add(index, "down", act, out)
            x = x + out
        return F.rms_norm(x, (self.hidden,), self.norm, self.eps)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.lm_head(hidden)
