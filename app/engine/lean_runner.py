"""The batching engine's runner over :class:`~app.engine.lean_model.LeanModel` and KV slots.

It answers the same calls as :class:`~app.engine.model_runner.ModelRunner` (prefill a chunk of
the arriving group, admit it, decode, verify a draft, rewind, drop finished rows, reset), so the
engine, the scheduler and the speculator do not know which one runs. Rows keep the scheduler's
order; each owns a KV slot from the start of its prefill until it leaves.
"""

from __future__ import annotations

import torch

from app.engine.lean_model import LeanModel
from app.engine.lean_step import StepLayout
from app.engine.lora_bank import LoraBank
from app.engine.lora_stack import LoraStep
from app.engine.prefix_cache import PrefixCache
from app.engine.running_rows import RunningRows
from app.engine.scheduler import PrefillChunk
from app.engine.sequence import Sequence


class LeanRunner(RunningRows):
    def __init__(
        self, model: LeanModel, *, num_slots: int, max_len: int, prefix_cache: PrefixCache | None = None, loras: LoraBank | None = None
    ) -> None:
        super().__init__()
        self.model = model
        self.loras = loras  # the adapters rows may run with (app/engine/lora_bank.py); None: base only
        self.kv = model.kv_cache(num_slots, max_len)
        self.prefix_cache = prefix_cache
        self.slot: dict[int, int] = {}  # seq_id -> its KV slot

    def _run(self, rows: list[tuple[Sequence, list[int]]]) -> torch.Tensor:
        """Feed each row its new tokens after what its slot holds; returns the final hidden
        states of every fed token, packed in row order (N, hidden)."""
        lengths = self.kv.lengths
        layout = StepLayout.of(
            [(self.slot[seq.seq_id], lengths[self.slot[seq.seq_id]], len(tokens)) for seq, tokens in rows],
            self.model.num_kv_heads,
            self.kv.max_len,
        )
        ids = torch.tensor([token for _, tokens in rows for token in tokens])
        hidden = self.model.forward(ids, layout, self.kv, self._lora_step(rows))
        for seq, tokens in rows:
            lengths[self.slot[seq.seq_id]] += len(tokens)
        return hidden

    def _lora_step(self, rows: list[tuple[Sequence, list[int]]]) -> LoraStep | None:
        if self.loras is None or all(seq.lora_key is None for seq, _ in rows):
            return None
        stack = self.loras.stack  # this step's snapshot: it holds every adapter a row in flight uses (they are pinned)
        return stack.step([stack.index[seq.lora_key] if seq.lora_key else -1 for seq, tokens in rows for _ in tokens])

    @torch.inference_mode()
    def prefill(self, chunk: PrefillChunk) -> torch.Tensor | None:
        """Run columns [start, end) of the group's right-aligned prompts (each row's share of them,
        unpadded); after the last chunk return the logits at each row's last prompt token (G, V)."""
        if chunk.start == 0:
            self._start_group(chunk)
        rows = []
        for seq in self.group:
            rest = seq.input_ids[chunk.prefix :]
            pad = chunk.total - len(rest)  # the row's first column in the left-padded layout
            tokens = rest[max(0, chunk.start - pad) : max(0, chunk.end - pad)]
            if tokens:
                rows.append((seq, tokens))
        hidden = self._run(rows)
        if not chunk.is_last:
            return None
        ends = torch.tensor([len(tokens) for _, tokens in rows]).cumsum(0) - 1  # every row's last token is in the last chunk
        self._remember_prompts()
        return self.model.logits(hidden.index_select(0, ends))

    def _start_group(self, chunk: PrefillChunk) -> None:
        self.group = list(chunk.group)
        for seq in self.group:
            self.slot[seq.seq_id] = slot = self.kv.allocate()
            if chunk.prefix:
                assert self.prefix_cache is not None
                self.kv.load(slot, self.prefix_cache.get(seq.input_ids, chunk.prefix, seq.lora_key))
            if self.prefix_cache is not None:
                self.prefix_cache.record(chunk.prefix)

    def _remember_prompts(self) -> None:
        if self.prefix_cache is None:
            return
        for seq in self.group:
            if self.prefix_cache.wants(seq.input_ids, seq.lora_key):  # put() copies what it keeps out of the slot
                self.prefix_cache.put(seq.input_ids, self.kv.view(self.slot[seq.seq_id], len(seq.input_ids)), seq.lora_key)

    @torch.inference_mode()
    def decode(self, last_tokens: list[int]) -> torch.Tensor:
        """One token for every running row; returns logits (B, V)."""
        assert len(last_tokens) == len(self.running)
        return self.model.logits(self._run([(seq, [token]) for seq, token in zip(self.running, last_tokens, strict=True)]))

    @torch.inference_mode()
    def verify(self, last_token: int, draft: list[int]) -> torch.Tensor:
        """The single running row: its last token plus ``draft`` in one pass; logits after each (n + 1, V)."""
        assert len(self.running) == 1
        return self.model.logits(self._run([(self.running[0], [last_token, *draft])]))

    def rewind(self, num_tokens: int) -> None:
        """Forget the last ``num_tokens`` positions of the single running row (rejected drafts)."""
        if num_tokens and self.running:
            self.kv.lengths[self.slot[self.running[0].seq_id]] -= num_tokens

    def reset(self) -> None:
        self.running, self.group = [], []
        self.slot.clear()
        self.kv.free_all()

    def _release(self, seq: Sequence) -> None:
        self.kv.free(self.slot.pop(seq.seq_id))
