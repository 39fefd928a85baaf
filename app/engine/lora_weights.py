"""One LoRA adapter's matrices, read from its PEFT folder by PEFT's own readers and checked against
the base model they will be added to.

PEFT's layer computes ``base(x) + lora_B(lora_A(x)) * scaling`` with ``scaling = alpha / r``
(``alpha / sqrt(r)`` under rsLoRA), ``r`` and ``alpha`` per module where ``rank_pattern`` /
``alpha_pattern`` say so; the same numbers are kept here per (layer, module).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from app.engine.types import LoraRef
from app.errors import InvalidRequestError
from app.lora_files import KEY, check_adapter


@dataclass
class LoraModule:
    a: torch.Tensor  # (r, in)
    b: torch.Tensor  # (out, r)
    scale: float


@dataclass
class AdapterWeights:
    ref: LoraRef
    modules: dict[tuple[int, str], LoraModule]  # (layer, module name) -> its matrices


def module_shapes(model: Any) -> dict[str, tuple[int, int]]:
    """(out, in) of every projection LoRA may target, from the first decoder layer (all are alike)."""
    layer = model.model.layers[0]
    modules = {"q_proj": layer.self_attn.q_proj, "k_proj": layer.self_attn.k_proj, "v_proj": layer.self_attn.v_proj,
               "o_proj": layer.self_attn.o_proj, "gate_proj": layer.mlp.gate_proj, "up_proj": layer.mlp.up_proj,
               "down_proj": layer.mlp.down_proj}  # fmt: skip
    return {name: (module.out_features, module.in_features) for name, module in modules.items()}


def read_adapter(ref: LoraRef, shapes: dict[str, tuple[int, int]], num_layers: int, dtype: torch.dtype) -> AdapterWeights:
    """``ref``'s matrices, or an :class:`InvalidRequestError` when its folder changed since it was
    loaded or it does not fit this model."""
    from peft import PeftConfig
    from peft.utils import load_peft_weights
    from peft.utils.other import get_pattern_key

    if check_adapter(ref.path).digest != ref.digest:  # the folder is checked and its files hashed once
        raise InvalidRequestError("model", f"LoRA adapter {ref.name!r}: its files at {ref.path} changed since it was loaded; load it again")
    config = PeftConfig.from_pretrained(ref.path)
    state = load_peft_weights(ref.path, device="cpu")
    modules = {}
    for key, tensor in state.items():
        match = KEY.match(key)
        assert match is not None  # check_adapter refused any other key
        layer, name, which = int(match.group(1)), match.group(2), match.group(3)
        if which == "B":
            continue
        a, b = tensor, state[key.replace("lora_A", "lora_B")]
        out_features, in_features = shapes[name]
        if layer >= num_layers or a.shape[1] != in_features or b.shape[0] != out_features:
            raise InvalidRequestError(
                "model",
                f"LoRA adapter {ref.name!r} does not fit this model: layer {layer} {name} is {tuple(b.shape[:1]) + tuple(a.shape[1:])} "
                f"(out, in), the model's is {(out_features, in_features)} in {num_layers} layers",
            )
        module_key = f"model.layers.{layer}.{'mlp' if name in ('gate_proj', 'up_proj', 'down_proj') else 'self_attn'}.{name}"
        rank = a.shape[0]
        alpha = config.alpha_pattern.get(get_pattern_key(config.alpha_pattern.keys(), module_key), config.lora_alpha)
        scale = alpha / math.sqrt(rank) if config.use_rslora else alpha / rank
        modules[(layer, name)] = LoraModule(a.to(dtype).contiguous(), b.to(dtype).contiguous(), scale)
    return AdapterWeights(ref, modules)
