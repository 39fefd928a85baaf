"""Identical prompts share one prefill: the ``n`` choices of one OpenAI request arrive as ``n``
sequences with the same prompt, and computing its KV ``n`` times over is waste.

The first to arrive (the leader) is scheduled at once; its twins wait here until the leader's
prefill has run, by which time the prefix cache holds the whole prompt, so each twin computes
only its last prompt token (the prefix cache always leaves one to compute). Without the prefix
cache (switched off, or a zero budget) nothing is held.
"""

from __future__ import annotations

from app.engine.sequence import Sequence, SequenceStatus

_NOT_PREFILLED = (SequenceStatus.WAITING, SequenceStatus.PREFILLING)


class SharedPrefill:
    def __init__(self) -> None:
        self.held: list[Sequence] = []  # twins waiting for their leader's prefill
        self._leaders: dict[tuple, Sequence] = {}  # (adapter, *prompt) -> the sequence that will prefill it
        self.num_shared = 0  # twins that waited for a leader (each then reused its prompt's KV)

    def admit(self, arrivals: list[Sequence], enabled: bool) -> list[Sequence]:
        """Of the held twins and the new ``arrivals``, those to schedule now (in arrival order)."""
        candidates, self.held = [*self.held, *arrivals], []
        if not enabled:
            self._leaders.clear()
            return candidates
        ready = []
        for seq in candidates:
            key = (seq.lora_key, *seq.input_ids)  # twins share a prefill only under one adapter
            leader = self._leaders.get(key)
            if leader is not None and leader is not seq and leader.status in _NOT_PREFILLED:
                self.held.append(seq)
                if seq in arrivals:
                    self.num_shared += 1
            else:
                self._leaders[key] = seq
                ready.append(seq)
        self._leaders = {key: seq for key, seq in self._leaders.items() if seq.status in _NOT_PREFILLED}
        return ready

    def release_all(self) -> list[Sequence]:
        """Every held twin (to fail them with the engine, or when it resets)."""
        held, self.held = self.held, []
        self._leaders.clear()
        return held
