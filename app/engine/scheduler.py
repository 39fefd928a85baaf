"""Which sequences run in the next engine step. Pure Python: no torch, unit-tested with fakes.

Each step decodes one token for every running sequence and, alongside, advances the
prefill of the newest arrivals by one chunk (so a long prompt never stalls
everyone's decoding for more than a chunk). Arrivals are admitted as a group while
there is room: at most ``max_num_seqs`` sequences, and the KV memory every admitted
sequence could ever need (prompt plus ``max_tokens``) within ``max_kv_tokens``.
Reserving the worst case up front means memory can never run out mid-generation,
so no sequence is ever preempted for memory; the price is admitting fewer long requests at once.

Priority 9 is the background (batch lines run at it): while any more urgent sequence is waiting or
in flight, at most ``max_num_background`` background rows keep running. The others are preempted
for recompute (:meth:`background_victims`) and wait until the urgent ones have left (and
``background_grace_s`` more, so the gap between two interactive requests does not bring every
background row back for one step, each paid for by a prefill), so an
interactive request's steps are never slowed by a full batch of background rows.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from app.engine.sequence import Sequence, SequenceStatus
from app.errors import InvalidRequestError

BACKGROUND_PRIORITY = 9  # the lowest: batch lines


@dataclass
class PrefillChunk:
    group: list[Sequence]
    start: int  # columns of the group's left-padded prompt matrix to run in this step
    end: int
    total: int  # the matrix's width (longest prompt in the group, after its reused prefix)
    prefix: int = 0  # leading tokens every row takes from the prefix cache instead of computing

    @property
    def is_last(self) -> bool:
        return self.end >= self.total


@dataclass
class StepPlan:
    decode: list[Sequence] = field(default_factory=list)
    prefill: PrefillChunk | None = None

    @property
    def is_empty(self) -> bool:
        return not self.decode and self.prefill is None


class Scheduler:
    def __init__(
        self, *, max_num_seqs: int, max_num_batched_tokens: int, max_kv_tokens: int, prefix_len: Callable[[Sequence], int] | None = None,
        max_num_background: int = 1, background_grace_s: float = 2.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        assert max_num_seqs > 0 and max_num_batched_tokens > 0 and max_kv_tokens > 0
        self.max_num_seqs = max_num_seqs
        self.max_num_background = max_num_background  # background rows kept while an urgent one is present
        self.background_grace_s = background_grace_s
        self.clock = clock
        self._urgent_until = float("-inf")
        self.max_num_batched_tokens = max_num_batched_tokens
        self.max_kv_tokens = max_kv_tokens
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.prefilling: list[Sequence] = []
        self._prefill_done = 0  # columns of the current group's prompt matrix already prefilled
        self._prefix = 0  # tokens of the current group's prompts reused from the prefix cache
        self.prefix_len = prefix_len or (lambda seq: 0)
        self.num_reserved_tokens = 0

    def check_fits(self, seq: Sequence) -> None:
        """Refuse a request that could never be admitted (before it is queued)."""
        if seq.num_reserved_tokens > self.max_kv_tokens:
            raise InvalidRequestError(
                "prompt", f"prompt + max_tokens need {seq.num_reserved_tokens} KV tokens; this worker holds {self.max_kv_tokens}"
            )

    def add(self, seq: Sequence) -> None:
        """Queue ``seq`` behind every waiting sequence of its priority or a more urgent one."""
        assert seq.num_reserved_tokens <= self.max_kv_tokens, "check_fits() first"
        priority = seq.request.priority
        at = next((i for i, other in enumerate(self.waiting) if other.request.priority > priority), len(self.waiting))
        self.waiting.insert(at, seq)

    @property
    def num_unfinished(self) -> int:
        return len(self.waiting) + len(self.prefilling) + len(self.running)

    def schedule(self) -> StepPlan:
        if not self.prefilling:
            self._admit()
        plan = StepPlan(decode=list(self.running))
        if self.prefilling:
            total = max(seq.num_prompt_tokens for seq in self.prefilling) - self._prefix
            # The chunk's token cost is rows x columns of the padded matrix; decode rows cost one each.
            room = max(1, self.max_num_batched_tokens - len(plan.decode))
            width = max(16, room // len(self.prefilling))
            end = min(total, self._prefill_done + width)
            plan.prefill = PrefillChunk(group=list(self.prefilling), start=self._prefill_done, end=end, total=total, prefix=self._prefix)
        return plan

    def _urgent_present(self) -> bool:
        now = self.clock()
        if any(seq.request.priority < BACKGROUND_PRIORITY for seq in (*self.waiting, *self.prefilling, *self.running)):
            self._urgent_until = now + self.background_grace_s
        return now < self._urgent_until

    def _num_background(self) -> int:
        return sum(seq.request.priority >= BACKGROUND_PRIORITY for seq in (*self.prefilling, *self.running))

    def background_victims(self) -> list[Sequence]:
        """Running background rows past ``max_num_background`` while an urgent sequence is present (the newest
        first go): the engine frees their rows, then :meth:`preempt_background` sends them back to wait."""
        if not self._urgent_present():
            return []
        background = [seq for seq in self.running if seq.request.priority >= BACKGROUND_PRIORITY]
        excess = self._num_background() - self.max_num_background
        return background[len(background) - excess :] if excess > 0 else []

    def preempt_background(self, seqs: list[Sequence]) -> None:
        """Back to the queue behind every more urgent sequence, to be recomputed from prompt + output so far."""
        for seq in reversed(seqs):
            self.running.remove(seq)
            self.num_reserved_tokens -= seq.reserved_tokens
            seq.reserved_tokens = 0
            seq.input_ids = list(seq.request.prompt_token_ids) + list(seq.output.token_ids)
            seq.status = SequenceStatus.WAITING
            at = next((i for i, other in enumerate(self.waiting) if other.request.priority >= seq.request.priority), len(self.waiting))
            self.waiting.insert(at, seq)

    def _admit(self) -> None:
        urgent = self._urgent_present()
        while self.waiting and len(self.running) + len(self.prefilling) < self.max_num_seqs:
            seq = self.waiting[0]
            if urgent and seq.request.priority >= BACKGROUND_PRIORITY and self._num_background() >= self.max_num_background:
                break  # background rows wait while urgent ones run
            if self.num_reserved_tokens + seq.num_reserved_tokens > self.max_kv_tokens:
                break  # first come, first served: later arrivals wait behind it
            self.waiting.popleft()
            seq.reserved_tokens = seq.num_reserved_tokens
            self.num_reserved_tokens += seq.reserved_tokens
            seq.status = SequenceStatus.PREFILLING
            self.prefilling.append(seq)
        self._prefill_done = 0
        # Rows share one cached-prefix length, so the prefix stays a common block of columns.
        self._prefix = min((self.prefix_len(seq) for seq in self.prefilling), default=0)

    def prefill_advanced(self, chunk: PrefillChunk) -> None:
        """The chunk ran; after the last one the group joins the running batch."""
        self._prefill_done = chunk.end
        if chunk.is_last:
            for seq in self.prefilling:
                if not seq.is_finished:
                    seq.status = SequenceStatus.RUNNING
                    self.running.append(seq)
            self.prefilling = []
            self._prefill_done = 0
            self._prefix = 0

    def preempt(self, seqs: list[Sequence]) -> None:
        """Send running or prefilling sequences back to the front of the queue, freeing their KV.

        They will be prefilled again from their prompt plus what they generated so far
        (recompute, as vLLM does on memory pressure), so nothing they streamed is lost.
        """
        victims = set(map(id, seqs))
        if any(id(seq) in victims for seq in self.prefilling):
            seqs = [*self.prefilling, *[s for s in seqs if s not in self.prefilling]]
            self.prefilling = []
            self._prefill_done = 0
            self._prefix = 0
        for seq in reversed(seqs):  # keep their order at the front of the queue
            if seq.is_finished:
                continue
            if seq in self.running:
                self.running.remove(seq)
            self.num_reserved_tokens -= seq.reserved_tokens
            seq.reserved_tokens = 0
            seq.input_ids = list(seq.request.prompt_token_ids) + list(seq.output.token_ids)
            seq.status = SequenceStatus.WAITING
            self.waiting.appendleft(seq)

    def finish(self, seq: Sequence) -> None:
        """Remove a sequence from wherever it is and free its reservation."""
        if seq.is_finished:
            return
        if seq.status is SequenceStatus.WAITING:
            self.waiting.remove(seq)
        elif seq in self.running:
            self.running.remove(seq)
        # A sequence finished mid-prefill stays in its group's rows until the group merges.
        self.num_reserved_tokens -= seq.reserved_tokens
        seq.reserved_tokens = 0
        seq.status = SequenceStatus.FINISHED
