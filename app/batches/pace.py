"""How many of a batch's lines may be queued or running now: the batch fills the capacity that
interactive traffic leaves idle, and yields it when interactive jobs are present. Pure, unit-tested."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pace:
    headroom: int = 0  # slots always left free for an interactive arrival (0: an eighth of them, at least 1)
    yield_inflight: int = 1  # batch lines in flight while interactive jobs are queued or running
    max_inflight: int = 0  # most batch lines in flight at once, all batches together (0: no cap)

    def room(self, *, slots: int, active_jobs: int, batch_jobs: int) -> int:
        """New lines to feed, given the live workers' ``slots`` for the model, its queued + running jobs
        (``active_jobs``, batch lines included) and the batch lines among them (``batch_jobs``)."""
        if slots <= 0:
            return 0  # no live worker: lines would only wait in the queue
        interactive = max(0, active_jobs - batch_jobs)
        headroom = self.headroom or max(1, slots // 8)
        cap = self.yield_inflight if interactive else max(self.yield_inflight, slots - headroom)
        if self.max_inflight:
            cap = min(cap, self.max_inflight)
        return max(0, cap - batch_jobs)
