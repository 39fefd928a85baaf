"""The batching engine's runner over llama.cpp's kernels (:class:`~app.engine.llamacpp_model.LlamaCppModel`).

It answers the same calls as :class:`~app.engine.lean_runner.LeanRunner`, so the engine, the
scheduler, the sampler, structured outputs and the speculator do not know which one runs. Each row
owns one llama.cpp sequence (its slot) from the start of its prefill until it leaves; every call is
one ``llama_decode`` over all the rows it feeds.

Each sequence has a KV stream of its own (``kv_unified`` off), ``max_len`` cells long: a row's
attention then reads only its own cells, at the same places whatever else runs, and its logits are
bit for bit those it gets alone (tests/integration/test_llamacpp_runner.py). With one shared stream
they were not: a row's greedy tokens changed with its batch companions. Prompt-prefix KV is not
reused across requests by this runner (the lean runner's prefix cache holds PyTorch tensors).
"""

from __future__ import annotations

from pathlib import Path

import torch

from app.engine.llamacpp_model import LlamaCppModel
from app.engine.running_rows import RunningRows, SlotPool
from app.engine.scheduler import PrefillChunk
from app.engine.sequence import Sequence


class LlamaCppRunner(RunningRows, SlotPool):
    def __init__(self, path: Path, *, num_slots: int, max_len: int, max_step_tokens: int, threads: int) -> None:
        RunningRows.__init__(self)
        SlotPool.__init__(self, num_slots)  # a slot is a llama.cpp sequence id; lengths: tokens its KV holds
        self.model = LlamaCppModel(
            path, n_ctx=num_slots * max_len, n_batch=max(max_step_tokens, num_slots), n_seq_max=num_slots, threads=threads
        )
        self.prefix_cache = None
        self.max_len = max_len
        self.slot: dict[int, int] = {}  # seq_id -> its llama.cpp sequence

    def _run(self, rows: list[tuple[Sequence, list[int]]], *, every: bool = False) -> torch.Tensor:
        """Feed each row its new tokens after what its KV holds; logits after each row's last token
        (or after every token, ``every``), packed in row order."""
        slots = [self.slot[seq.seq_id] for seq, _ in rows]
        logits = self.model.forward([(slot, self.lengths[slot], tokens, every) for slot, (_, tokens) in zip(slots, rows, strict=True)])
        for slot, (_, tokens) in zip(slots, rows, strict=True):
            self.lengths[slot] += len(tokens)
        return logits

    @torch.inference_mode()
    def prefill(self, chunk: PrefillChunk) -> torch.Tensor | None:
        """Run columns [start, end) of the group's right-aligned prompts (each row's share of them);
        after the last chunk return the logits at each row's last prompt token (G, V)."""
        if chunk.start == 0:
            self.group = list(chunk.group)
            for seq in self.group:
                self.slot[seq.seq_id] = self.allocate()
        rows = []
        for seq in self.group:
            pad = chunk.total - len(seq.input_ids)  # the row's first column in the left-padded layout
            tokens = seq.input_ids[max(0, chunk.start - pad) : max(0, chunk.end - pad)]
            if tokens:
                rows.append((seq, tokens))
        logits = self._run(rows)
        return logits if chunk.is_last else None  # every row's last prompt token is in the last chunk

    @torch.inference_mode()
    def decode(self, last_tokens: list[int]) -> torch.Tensor:
        """One token for every running row; returns logits (B, V)."""
        assert len(last_tokens) == len(self.running)
        return self._run([(seq, [token]) for seq, token in zip(self.running, last_tokens, strict=True)])

    @torch.inference_mode()
    def verify(self, last_token: int, draft: list[int]) -> torch.Tensor:
        """The single running row: its last token plus ``draft`` in one pass; logits after each (n + 1, V)."""
        assert len(self.running) == 1
        return self._run([(self.running[0], [last_token, *draft])], every=True)

    def rewind(self, num_tokens: int) -> None:
        """Forget the last ``num_tokens`` positions of the single running row (rejected drafts)."""
        if num_tokens and self.running:
            slot = self.slot[self.running[0].seq_id]
            self.lengths[slot] -= num_tokens
            self.model.forget(slot, self.lengths[slot])

    def reset(self) -> None:
        self.running, self.group = [], []
        self.slot.clear()
        self.model.clear()
        SlotPool.__init__(self, self.num_slots)

    def _release(self, seq: Sequence) -> None:
        slot = self.slot.pop(seq.seq_id)
        self.model.forget(slot)
        self.free(slot)
