"""Where the packed tokens of one lean step go, and attention over the KV slots.

A step runs ``n_i`` new tokens for each of its rows (one for a decode, a prompt chunk for a
prefill, the last token plus a draft for verification), packed one row after another with no
padding. Everything that depends only on that layout (the slot and position of each token, the
attention mask) is computed once here and shared by every layer.

Attention covers the slots ``[lo, hi)`` the step's rows occupy: queries are scattered into a
(slots, n_max) grid, every slot's keys are read in place through a strided view of the layer's
buffer, and each query sees the positions up to its own (causal, with any cached prefix before
it). Grid cells without a query attend to position 0 only and are dropped afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class StepLayout:
    positions: torch.Tensor  # (N,) each packed token's position in its sequence
    rows: torch.Tensor  # (N * H_kv,) where each token's key (or value) of each KV head goes in a layer's buffer seen as rows of D
    grid_index: torch.Tensor  # (N,) its cell in the (hi - lo) x n_max query grid
    query_positions: torch.Tensor  # (hi - lo, n_max) position of each grid cell's query (0 where none)
    lo: int
    hi: int
    n_max: int
    length: int  # keys read per slot: the furthest position of the step, plus one

    @classmethod
    def of(cls, rows: list[tuple[int, int, int]], num_kv_heads: int, max_len: int) -> StepLayout:
        """``rows``: (slot, first position, number of new tokens) per row, in packing order."""
        lo, hi = min(slot for slot, _, _ in rows), max(slot for slot, _, _ in rows) + 1
        n_max = max(count for _, _, count in rows)
        slots, positions, cells = [], [], []
        for slot, first, count in rows:  # plain lists: one tensor each below, not a few per row (this runs every step)
            slots += [slot] * count
            positions += range(first, first + count)
            cells += range((slot - lo) * n_max, (slot - lo) * n_max + count)
        position_ids, grid_index = torch.tensor(positions), torch.tensor(cells)
        grid = torch.zeros((hi - lo) * n_max, dtype=torch.long).index_copy_(0, grid_index, position_ids).view(hi - lo, n_max)
        heads = torch.arange(num_kv_heads)
        slot_rows = (torch.tensor(slots).unsqueeze(1) * num_kv_heads + heads) * max_len  # (N, H_kv): each head's first row
        return cls(
            positions=position_ids,
            rows=(slot_rows + position_ids.unsqueeze(1)).flatten(),
            grid_index=grid_index,
            query_positions=grid,
            lo=lo,
            hi=hi,
            n_max=n_max,
            length=max(first + count for _, first, count in rows),
        )

    def mask(self, window: int | None) -> torch.Tensor:
        """(slots, 1, n_max, length) True where a query may see a key: causal, within any sliding window."""
        keys = torch.arange(self.length)
        queries = self.query_positions.unsqueeze(-1)
        allowed = keys <= queries
        if window:
            allowed &= keys > queries - window
        return allowed.unsqueeze(1)

    def attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, scale: float
    ) -> torch.Tensor:
        """Write this step's ``k``/``v`` (N, H_kv, D) into the layer's slot buffers, then attend
        ``q`` (N, H, D) to each slot's keys; returns (N, H * D)."""
        dim = k.shape[-1]
        keys.view(-1, dim).index_copy_(0, self.rows, k.reshape(-1, dim))  # one copy of N x H_kv rows, no scatter loop
        values.view(-1, dim).index_copy_(0, self.rows, v.reshape(-1, dim))
        count, heads = self.hi - self.lo, q.shape[1]
        grid = q.new_zeros((count * self.n_max, heads, dim)).index_copy_(0, self.grid_index, q)
        grid = grid.view(count, self.n_max, heads, dim).transpose(1, 2)  # (slots, H, n_max, D)
        out = F.scaled_dot_product_attention(
            grid,
            keys[self.lo : self.hi, :, : self.length],
            values[self.lo : self.hi, :, : self.length],
            attn_mask=mask,
            scale=scale,
            enable_gqa=True,  # query head h reads key/value head h // (H / H_kv), as the model was trained
        )
        return out.transpose(1, 2).reshape(count * self.n_max, heads * dim).index_select(0, self.grid_index)
