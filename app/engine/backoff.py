"""When one request stops drafting: speculation that costs more per token than a plain step backs off."""

from __future__ import annotations

from dataclasses import dataclass

BACKOFF_TOKENS = 32  # a request whose drafting stopped paying first decodes this many tokens plainly


@dataclass
class Backoff:
    """One request's drafting policy: compare what its speculative passes cost per produced token
    (a moving average) with a plain lone step; while speculation costs more, decode plainly for
    ``pause`` tokens, then try again, and wait twice as long after each further miss."""

    step_s: float | None = None  # seconds per token of the recent speculative passes
    resume_at: int = 0  # output length before which the request decodes plainly
    pause: int = BACKOFF_TOKENS

    def paused(self, produced: int) -> bool:
        return produced < self.resume_at

    def record(self, per_token_s: float, plain_step_s: float, produced: int) -> bool:
        """Account one speculative pass; True when the request starts backing off."""
        self.step_s = per_token_s if self.step_s is None else 0.5 * self.step_s + 0.5 * per_token_s
        if self.step_s <= plain_step_s:
            return False
        self.resume_at = produced + self.pause
        self.pause *= 2
        self.step_s = None
        return True

    def give_up(self, max_tokens: int) -> None:
        """Never draft again for this request (its proposer failed)."""
        self.resume_at = max_tokens + 1
