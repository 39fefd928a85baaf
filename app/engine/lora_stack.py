"""LoRA over a mixed batch in one pass, the idea of Punica and S-LoRA: every loaded adapter's A
matrices for a projection are stacked into one (C, in) matrix, each token multiplies all of them at
once, a 0/1 mask keeps only its own adapter's columns, and the stacked B matrices add that back.

Per layer and projection group this is two matrix products for the whole step, whatever the mix
of adapters (and rows without one), instead of one forward per adapter or merged weights. Columns
of other adapters are multiplied by an exact zero, so a row's delta is its own adapter's
``lora_B(lora_A(x)) * scaling``, as PEFT computes it, and a row without an adapter gets exactly
the base model's numbers. A stack is immutable: the bank builds a new one when an adapter comes or
goes, and a step uses the one it started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from app.engine.lora_weights import AdapterWeights

# The lean model's fused projections and the modules each one holds, in its output's order.
GROUPS = {"qkv": ("q_proj", "k_proj", "v_proj"), "o": ("o_proj",), "gate_up": ("gate_proj", "up_proj"), "down": ("down_proj",)}


@dataclass
class _Part:
    out_start: int  # where this module's output lies in the fused projection's output
    out_end: int
    col_start: int  # its columns in the stacked A's output
    col_end: int
    b: torch.Tensor  # (out, col_end - col_start): the adapters' B matrices side by side


@dataclass
class _Stacked:
    a: torch.Tensor  # (C, in): every adapter's A for every module of the group, module by module
    owner: tuple[int, ...]  # (C,) which adapter (its index in the stack) each column belongs to
    parts: list[_Part]


@dataclass
class LoraStack:
    adapters: list[AdapterWeights] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)  # digest -> its position
    layers: list[dict[str, _Stacked]] = field(default_factory=list)

    @classmethod
    def of(cls, adapters: list[AdapterWeights], shapes: dict[str, tuple[int, int]], num_layers: int) -> LoraStack:
        stack = cls(adapters, {w.ref.digest: i for i, w in enumerate(adapters)})
        for layer in range(num_layers):
            groups = {}
            for group, names in GROUPS.items():
                blocks, owner, parts, out_start, col = [], [], [], 0, 0
                for name in names:
                    out = shapes[name][0]
                    bs = []
                    for i, weights in enumerate(adapters):
                        module = weights.modules.get((layer, name))
                        if module is None:
                            continue
                        blocks.append(module.a * module.scale)  # scaling folded into A: one multiply fewer per step
                        bs.append(module.b)
                        owner += [i] * module.a.shape[0]
                    if bs:
                        width = sum(b.shape[1] for b in bs)
                        parts.append(_Part(out_start, out_start + out, col, col + width, torch.cat(bs, dim=1).contiguous()))
                        col += width
                    out_start += out
                if blocks:
                    groups[group] = _Stacked(torch.cat(blocks).contiguous(), tuple(owner), parts)
            stack.layers.append(groups)
        return stack

    def step(self, token_adapters: list[int]) -> LoraStep | None:
        """The LoRA work of one step whose packed tokens use these adapters (-1: none); None when no token has one."""
        if not self.adapters or all(i < 0 for i in token_adapters):
            return None
        return LoraStep(self, torch.tensor(token_adapters))


class LoraStep:
    def __init__(self, stack: LoraStack, token_adapters: torch.Tensor) -> None:
        self.stack = stack
        self.token_adapters = token_adapters.unsqueeze(1)  # (N, 1)
        self._masks: dict[tuple[int, ...], torch.Tensor] = {}  # by column owners: layers with the same adapters share one

    def _mask(self, owner: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        mask = self._masks.get(owner)
        if mask is None:
            mask = self._masks[owner] = (self.token_adapters == torch.tensor(owner)).to(dtype)  # (N, C)
        return mask

    def add(self, layer: int, group: str, x: torch.Tensor, out: torch.Tensor) -> None:
        """Add to ``out`` (N, out), the fused projection ``group`` of ``x`` (N, in), each token's adapter delta."""
        stacked = self.stack.layers[layer].get(group)
        if stacked is None:
            return
        low = F.linear(x, stacked.a) * self._mask(stacked.owner, x.dtype)  # (N, C): each token's own adapter's columns
        for part in stacked.parts:
            out[:, part.out_start : part.out_end] += F.linear(low[:, part.col_start : part.col_end], part.b)
