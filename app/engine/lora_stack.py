"""LoRA over a mixed batch in one pass, the idea of Punica's SGMV and S-LoRA: a step's tokens are
grouped by adapter into a padded (adapters, tokens, hidden) block, and each fused projection of each
layer adds its delta with one batched product through every adapter's A and one per module through
its B, whatever the mix of adapters (and rows without one); nothing runs when no row has one.

A token meets only its own adapter's matrices, so its delta is that adapter's
``lora_B(lora_A(x)) * scaling`` as PEFT computes it (padding rows and the zero columns that even out
ranks add exact zeros), and a row without an adapter keeps exactly the base model's numbers. A stack
is immutable: the bank builds a new one when an adapter comes or goes, and a step uses the one it
started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from app.engine.lora_weights import AdapterWeights

# The lean model's fused projections and the modules each one holds, in its output's order.
GROUPS = {"qkv": ("q_proj", "k_proj", "v_proj"), "o": ("o_proj",), "gate_up": ("gate_proj", "up_proj"), "down": ("down_proj",)}


@dataclass
class _Stacked:
    a: torch.Tensor  # (adapters, in, modules * rank): each adapter's A of every module (scaling folded in), transposed
    b: torch.Tensor  # (adapters, modules * rank, out): its B matrices, transposed, block-diagonal over the modules


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
                modules = [[weights.modules.get((layer, name)) for weights in adapters] for name in names]
                ranks = [m.a.shape[0] for per_name in modules for m in per_name if m is not None]
                if ranks:
                    groups[group] = _stack(names, modules, shapes, max(ranks), len(adapters))
            stack.layers.append(groups)
        return stack

    def step(self, token_adapters: list[int]) -> LoraStep | None:
        """The LoRA work of one step whose packed tokens use these adapters (-1: none); None when no token has one."""
        if not self.adapters or all(i < 0 for i in token_adapters):
            return None
        return LoraStep(self, token_adapters)


def _stack(names, modules, shapes, rank: int, count: int) -> _Stacked:
    """Ranks below ``rank`` are padded with zero columns of A and zero rows of B; a module an adapter does not
    target is all zeros; B is block-diagonal so that the fused projection takes one product (its zero blocks
    cost little: B is rank x out)."""
    in_features, out_total = shapes[names[0]][1], sum(shapes[name][0] for name in names)
    dtype = next(m.a.dtype for per_adapter in modules for m in per_adapter if m is not None)
    a = torch.zeros(count, in_features, len(names) * rank, dtype=dtype)
    b = torch.zeros(count, len(names) * rank, out_total, dtype=dtype)
    out_start = 0
    for p, (name, per_adapter) in enumerate(zip(names, modules, strict=True)):
        out = shapes[name][0]
        for i, module in enumerate(per_adapter):
            if module is not None:
                r = module.a.shape[0]
                a[i, :, p * rank : p * rank + r] = (module.a * module.scale).T  # scaling folded into A: one multiply fewer
                b[i, p * rank : p * rank + r, out_start : out_start + out] = module.b.T
        out_start += out
    return _Stacked(a, b)


class LoraStep:
    """Where each token with an adapter sits in the padded (adapters, n_max) grid of this step."""

    def __init__(self, stack: LoraStack, token_adapters: list[int]) -> None:
        self.stack = stack
        adapters = torch.tensor(token_adapters)
        self.tokens = (adapters >= 0).nonzero().squeeze(1)  # (M,) the tokens that have an adapter
        owners = adapters[self.tokens]
        counts = torch.bincount(owners, minlength=len(stack.adapters))
        self.present = counts.nonzero().squeeze(1)  # adapters this step uses
        self.n_max = int(counts.max())
        # a token's row in the grid: its adapter's slot among those present, times n_max, plus its rank among that adapter's tokens
        slot = torch.full((len(stack.adapters),), -1, dtype=torch.long).index_copy_(0, self.present, torch.arange(len(self.present)))
        order = torch.argsort(owners, stable=True)
        starts = torch.cumsum(counts, 0) - counts
        within = torch.empty_like(owners).index_copy_(0, order, torch.arange(len(owners)) - starts[owners[order]])
        self.rows = slot[owners] * self.n_max + within  # (M,)
        # each grid row's token (padding rows read token 0: their products are never read back)
        self.grid_tokens = torch.zeros(len(self.present) * self.n_max, dtype=torch.long).index_copy_(0, self.rows, self.tokens)
        self.all_present = len(self.present) == len(stack.adapters)

    def _weights(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor if self.all_present else tensor.index_select(0, self.present)

    def add(self, layer: int, group: str, x: torch.Tensor, out: torch.Tensor) -> None:
        """Add to ``out`` (N, out), the fused projection ``group`` of ``x`` (N, in), each token's adapter delta."""
        stacked = self.stack.layers[layer].get(group)
        if stacked is None:
            return
        count = len(self.present)
        grid = x.index_select(0, self.grid_tokens).view(count, self.n_max, -1)
        low = torch.bmm(grid, self._weights(stacked.a))  # (adapters, n_max, modules * rank)
        delta = torch.bmm(low, self._weights(stacked.b)).view(count * self.n_max, -1)  # (adapters * n_max, out)
        out.index_add_(0, self.tokens, delta.index_select(0, self.rows))
