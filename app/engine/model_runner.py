"""The tensors of the batching engine: one running batch and one prefilling group, each
with its KV cache, run through the Hugging Face model's own forward pass.

Rows are left-padded to a common length, as transformers' batched ``generate``
does, with an attention mask marking the padding and per-row position ids, so
every row sees exactly its own tokens. A prefilled group joins the running batch
by padding both caches to one length and stacking them; finished rows leave by
index selection, and columns that became padding for every row are trimmed.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import Cache, DynamicLayer

from app.engine.prefix_cache import PrefixCache
from app.engine.scheduler import PrefillChunk
from app.engine.sequence import Sequence


class _GrowingLayer(DynamicLayer):
    """A KV layer that appends into spare capacity instead of ``torch.cat`` at every step.

    transformers' DynamicLayer copies the whole cache on each update, which measured ~20 %
    of a batched decode step on CPU; here capacity doubles when full, so appends are amortized
    O(new tokens). ``keys``/``values`` stay views of the filled part, as the model expects.
    """

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self.set(key_states[:, :, :0], value_states[:, :, :0])

    def set(self, keys: torch.Tensor, values: torch.Tensor, headroom: int = 64) -> None:
        """Replace the contents (after rows were selected or batches merged)."""
        length = keys.shape[-2]
        shape = (*keys.shape[:2], length + headroom, keys.shape[-1])
        self._k = keys.new_empty(shape)
        self._v = values.new_empty(shape)
        self._k[:, :, :length] = keys
        self._v[:, :, :length] = values
        self._length = length
        self.keys, self.values = self._k[:, :, :length], self._v[:, :, :length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self._length + key_states.shape[-2]
        if end > self._k.shape[-2]:  # grow to at least double, and enough for this update
            self.set(self.keys, self.values, headroom=max(key_states.shape[-2] + 64, self._k.shape[-2]))
        self._k[:, :, self._length : end] = key_states
        self._v[:, :, self._length : end] = value_states
        self._length = end
        self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
        return self.keys, self.values

    def crop(self, tokens_to_remove: int) -> None:
        """Forget the last ``|tokens_to_remove|`` positions (transformers' negative-count convention)."""
        self._length -= abs(tokens_to_remove)
        self.keys, self.values = self._k[:, :, : self._length], self._v[:, :, : self._length]


class _Cache(DynamicCache):
    def __init__(self, kv: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> None:
        Cache.__init__(self, layer_class_to_replicate=_GrowingLayer)
        for keys, values in kv or []:  # start from reused prefix KV
            layer = _GrowingLayer()
            layer.lazy_initialization(keys, values)
            layer.set(keys, values)
            self.layers.append(layer)


class _Batch:
    """Rows of sequences with their KV cache: keys/values (B, H_kv, T, D) per layer, mask (B, T)."""

    def __init__(self, seqs: list[Sequence], cache: DynamicCache, mask: torch.Tensor) -> None:
        self.seqs = seqs
        self.cache = cache
        self.mask = mask

    def layers(self) -> list[Any]:
        return self.cache.layers


def _pad_left(tensor: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    extra = width - tensor.shape[dim]
    if extra <= 0:
        return tensor
    pad = [0, 0] * (tensor.dim() - 1 - (dim % tensor.dim())) + [extra, 0]
    return F.pad(tensor, pad)


def cache_kwarg(model: Any) -> str:
    """transformers renamed ``past_key_values`` to ``cache`` (5.2x): the name this version takes."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


class ModelRunner:
    def __init__(self, model: Any, pad_token_id: int, device: str, prefix_cache: PrefixCache | None = None) -> None:
        self.model = model
        self.prefix_cache = prefix_cache
        self.pad_token_id = pad_token_id
        self.device = device
        self._cache_kwarg = cache_kwarg(model)
        self.running: _Batch | None = None
        self.group: _Batch | None = None
        self._group_ids: torch.Tensor | None = None  # (G, T) the group's left-padded prompts

    @torch.inference_mode()
    def prefill(self, chunk: PrefillChunk) -> torch.Tensor | None:
        """Run columns [start, end) of the group's prompts; after the last chunk return
        the logits of each row's last prompt position, (G, V)."""
        if chunk.start == 0:
            self._start_group(chunk)
        assert self.group is not None and self._group_ids is not None
        mask = self.group.mask
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        start, end = chunk.prefix + chunk.start, chunk.prefix + chunk.end  # columns of the full mask
        out = self.model(
            input_ids=self._group_ids[:, chunk.start : chunk.end],
            attention_mask=mask[:, :end],
            position_ids=positions[:, start:end],
            **{self._cache_kwarg: self.group.cache},
            use_cache=True,
            logits_to_keep=1,
        )
        if not chunk.is_last:
            return None
        self._remember_prompts()
        return out.logits[:, -1, :]

    def _start_group(self, chunk: PrefillChunk) -> None:
        """Lay out a new group: [reused prefix | left padding | rest of the prompt] per row.

        Padding in the middle is fine: the mask hides it and positions count only real tokens.
        """
        rows, width, prefix = len(chunk.group), chunk.total, chunk.prefix
        ids = torch.full((rows, width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((rows, prefix + width), dtype=torch.long)
        mask[:, :prefix] = 1
        for row, seq in enumerate(chunk.group):
            rest = seq.input_ids[prefix:]
            ids[row, width - len(rest) :] = torch.tensor(rest)
            mask[row, prefix + width - len(rest) :] = 1
        kv = None
        if prefix:
            assert self.prefix_cache is not None
            per_row = [self.prefix_cache.get(seq.input_ids, prefix, seq.lora_key) for seq in chunk.group]
            kv = [(torch.cat([r[i][0] for r in per_row]), torch.cat([r[i][1] for r in per_row])) for i in range(len(per_row[0]))]
        if self.prefix_cache is not None:
            for _ in chunk.group:  # every prompt of the group reused the same length
                self.prefix_cache.record(prefix)
        self._group_ids = ids.to(self.device)
        self.group = _Batch(list(chunk.group), _Cache(kv), mask.to(self.device))

    def _remember_prompts(self) -> None:
        """Offer each row's freshly computed prompt KV to the prefix cache."""
        if self.prefix_cache is None:
            return
        group = self.group
        assert group is not None
        for row, seq in enumerate(group.seqs):
            if not self.prefix_cache.wants(seq.input_ids, seq.lora_key):
                continue  # already stored (or too long to keep): skip copying its KV out
            columns = group.mask[row].nonzero().squeeze(-1)
            kv = [
                (layer.keys[row : row + 1].index_select(2, columns), layer.values[row : row + 1].index_select(2, columns))
                for layer in group.layers()
            ]
            self.prefix_cache.put(seq.input_ids, kv, seq.lora_key)

    def admit_group(self) -> None:
        """Move the prefilled group's unfinished rows into the running batch."""
        group, self.group, self._group_ids = self.group, None, None
        assert group is not None
        keep = [row for row, seq in enumerate(group.seqs) if not seq.is_finished]
        if not keep:
            return
        group = self._select(group, keep)
        if self.running is None:
            self.running = group
            return
        running = self.running
        width = max(running.mask.shape[1], group.mask.shape[1])
        for mine, theirs in zip(running.layers(), group.layers(), strict=True):
            mine.set(
                torch.cat([_pad_left(mine.keys, width, -2), _pad_left(theirs.keys, width, -2)], dim=0),
                torch.cat([_pad_left(mine.values, width, -2), _pad_left(theirs.values, width, -2)], dim=0),
            )
        running.mask = torch.cat([_pad_left(running.mask, width, -1), _pad_left(group.mask, width, -1)], dim=0)
        running.seqs = running.seqs + group.seqs

    @torch.inference_mode()
    def decode(self, last_tokens: list[int]) -> torch.Tensor:
        """One token for every running row; returns logits (B, V)."""
        assert self.running is not None and len(last_tokens) == len(self.running.seqs)
        return self._append(torch.tensor(last_tokens, device=self.device).unsqueeze(1))[:, -1, :]

    @torch.inference_mode()
    def verify(self, last_token: int, draft: list[int]) -> torch.Tensor:
        """The single running row: feed its last token plus ``draft`` in one pass; returns the
        logits after each of them, (len(draft) + 1, V). Their KV is appended; :meth:`rewind`
        removes what the row does not keep."""
        assert self.running is not None and len(self.running.seqs) == 1
        return self._append(torch.tensor([[last_token, *draft]], device=self.device))[0]

    def _append(self, ids: torch.Tensor) -> torch.Tensor:
        """Run ``ids`` (B, n) after each running row's tokens; returns the logits (B, n, V)."""
        batch = self.running
        assert batch is not None
        n = ids.shape[1]
        positions = batch.mask.sum(-1, keepdim=True) + torch.arange(n, device=batch.mask.device)  # each row counts its real tokens
        batch.mask = torch.cat([batch.mask, torch.ones((len(batch.seqs), n), dtype=batch.mask.dtype, device=batch.mask.device)], dim=1)
        out = self.model(
            input_ids=ids, attention_mask=batch.mask, position_ids=positions, **{self._cache_kwarg: batch.cache}, use_cache=True
        )
        return out.logits

    def rewind(self, num_tokens: int) -> None:
        """Drop the last ``num_tokens`` positions of the (single-row) running batch: rejected drafts."""
        batch = self.running
        if not num_tokens or batch is None:
            return
        batch.cache.crop(-num_tokens)
        batch.mask = batch.mask[:, :-num_tokens]

    def reset(self) -> None:
        """Forget every row (after a failed step)."""
        self.running, self.group, self._group_ids = None, None, None

    def release(self, seqs: list[Sequence]) -> None:
        """Free the rows of running ``seqs`` (preempted: they will be prefilled again)."""
        batch, ids = self.running, {seq.seq_id for seq in seqs}
        if batch is None:
            return
        keep = [row for row, seq in enumerate(batch.seqs) if seq.seq_id not in ids]
        if len(keep) != len(batch.seqs):
            self.running = self._select(batch, keep) if keep else None

    def drop_finished(self) -> None:
        """Free the rows of finished sequences and the columns nobody needs any more."""
        batch = self.running
        if batch is None:
            return
        keep = [row for row, seq in enumerate(batch.seqs) if not seq.is_finished]
        if len(keep) == len(batch.seqs):
            return
        self.running = self._select(batch, keep) if keep else None

    @staticmethod
    def _select(batch: _Batch, rows: list[int]) -> _Batch:
        index = torch.tensor(rows, device=batch.mask.device)
        mask = batch.mask.index_select(0, index)
        used = mask.any(dim=0).nonzero()
        first = int(used[0]) if len(used) else 0  # leading columns that are padding in every row
        for layer in batch.layers():
            layer.set(layer.keys.index_select(0, index)[:, :, first:, :], layer.values.index_select(0, index)[:, :, first:, :])
        batch.mask = mask[:, first:]
        batch.seqs = [batch.seqs[row] for row in rows]
        return batch
