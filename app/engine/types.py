"""The small vocabulary every engine speaks: what goes in, what comes out."""

from __future__ import annotations

from dataclasses import dataclass, field

GREEDY_BELOW = 1e-5  # temperatures this close to 0 overflow the logits: treat as greedy (as vLLM does)


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0  # 0 means greedy
    top_p: float = 1.0
    top_k: int = 0  # 0 means no top-k filtering
    stop: tuple[str, ...] = ()
    seed: int | None = None
    ignore_eos: bool = False

    @property
    def is_greedy(self) -> bool:
        return self.temperature < GREEDY_BELOW


@dataclass(frozen=True)
class GenerationRequest:
    request_id: str
    prompt_token_ids: list[int]
    sampling: SamplingParams
    # Tokens an earlier attempt already streamed: generation continues after them.
    resume_token_ids: list[int] = field(default_factory=list)
    priority: int = 5  # 0 (most urgent) .. 9: the waiting list is ordered by it, then by arrival


@dataclass(frozen=True)
class TokenDelta:
    """New text that is safe to show: ``text`` may be empty while a stop string or a
    multi-byte character is still undecided."""

    index: int
    text: str
    token_ids: list[int]


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # "stop" (EOS or a stop string), "length" (max_tokens) or "cancelled"
    prompt_tokens: int
    completion_tokens: int
    token_ids: list[int] = field(default_factory=list)
