"""What the slot-based runners (lean, llama.cpp) share: sequence slots handed out lowest first, and
the rows of the running batch and of the group being prefilled, which leave as they finish."""

from __future__ import annotations

import heapq

from app.engine.sequence import Sequence


class SlotPool:
    """``num_slots`` numbered slots, each with the count of tokens it holds."""

    def __init__(self, num_slots: int) -> None:
        self.lengths = [0] * num_slots  # tokens held per slot
        self._free = list(range(num_slots))  # a heap: the lowest free slot first keeps the used range short

    @property
    def num_slots(self) -> int:
        return len(self.lengths)

    def allocate(self) -> int:
        if not self._free:
            raise RuntimeError("no free KV slot: more sequences in flight than LLMJOBS_MAX_NUM_SEQS")
        slot = heapq.heappop(self._free)
        self.lengths[slot] = 0
        return slot

    def free(self, slot: int) -> None:
        self.lengths[slot] = 0
        heapq.heappush(self._free, slot)


class RunningRows:
    """The running rows and the prefilling group; a subclass frees a leaving row's slot in ``_release``."""

    def __init__(self) -> None:
        self.running: list[Sequence] = []
        self.group: list[Sequence] = []

    def _release(self, seq: Sequence) -> None:
        raise NotImplementedError

    def admit_group(self) -> None:
        group, self.group = self.group, []
        for seq in group:
            if seq.is_finished:
                self._release(seq)
            else:
                self.running.append(seq)

    def release(self, seqs: list[Sequence]) -> None:
        """Free the rows of running ``seqs`` (preempted: they will be prefilled again)."""
        ids = {seq.seq_id for seq in seqs}
        for seq in [seq for seq in self.running if seq.seq_id in ids]:
            self._release(seq)
        self.running = [seq for seq in self.running if seq.seq_id not in ids]

    def drop_finished(self) -> None:
        for seq in [seq for seq in self.running if seq.is_finished]:
            self._release(seq)
        self.running = [seq for seq in self.running if not seq.is_finished]
