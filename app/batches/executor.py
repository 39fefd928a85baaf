"""What the batch runner needs of the API, as a protocol: how one input line runs and what it answers.

The API implements it with the same validation, submit service and reply shapes as its online routes
(api/batch_lines.py), so a line's response body is the body the same request gets online.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.batches.record import LineIds


@dataclass(frozen=True)
class Reply:
    """A line's HTTP answer: its status, its body, and the tokens it used (for the batch's usage)."""

    status_code: int
    body: dict[str, Any]
    request_id: str
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"status_code": self.status_code, "body": self.body, "request_id": self.request_id,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        return cls(**data)


class Refused(Exception):
    """The queue cannot take the line now (full, Redis away, no worker for its model): feed it later."""


class LineExecutor(Protocol):
    def model_error(self, endpoint: str, model: str, tenant: str) -> str | None:
        """Why ``model`` cannot serve ``endpoint`` for ``tenant`` (unknown, or an adapter not theirs), or None."""

    def start(self, endpoint: str, body: dict[str, Any], tenant: str, job_id: LineIds) -> list[str] | Reply:
        """Submit a line's jobs (choice ``i`` as job ``job_id(i)``, skipping any that exists already) and return
        their ids; or the line's answer at once (an invalid request's 400, an embedding). Raises :class:`Refused`."""

    def reply(self, endpoint: str, body: Callable[[], dict[str, Any]], job_ids: list[str]) -> Reply | None | str:
        """The line's answer once all its jobs have ended; None while one runs; ``"missing"`` if a job's record is gone.
        ``body()`` reads the line's request from the input file: only once its jobs have ended."""

    def cancel(self, job_ids: list[str]) -> None:
        """Stop the line's jobs (a no-op for those that ended)."""
