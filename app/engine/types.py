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
    min_tokens: int = 0  # EOS is masked until this many tokens are out (vLLM's min_tokens)
    # vLLM's penalties: repetition (> 1 discourages any token of prompt or output, as in CTRL),
    # presence and frequency (OpenAI's: subtracted once / per occurrence in the output so far).
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logprobs: int | None = None  # the chosen token's log probability plus this many top alternatives
    prompt_logprobs: int | None = None  # the same for every prompt token (OpenAI's `echo` + `logprobs`)
    skip_special_tokens: bool = True
    include_stop_str_in_output: bool = False
    structured: str | None = None  # the output's constraint, app/structured/spec.py's canonical JSON (a grammar per row)

    @property
    def is_greedy(self) -> bool:
        return self.temperature < GREEDY_BELOW

    @property
    def has_penalties(self) -> bool:
        return self.repetition_penalty != 1.0 or self.presence_penalty != 0.0 or self.frequency_penalty != 0.0

    @property
    def is_plain(self) -> bool:
        """Nothing per token beyond choosing it: speculative decoding may run."""
        return not self.has_penalties and self.min_tokens == 0 and self.logprobs is None and self.structured is None


@dataclass(frozen=True)
class LoraRef:
    """A LoRA adapter a request runs with: its name, PEFT folder and the digest of its files
    (app/lora_files.py), so a folder whose files changed since it was loaded is refused."""

    name: str
    path: str
    digest: str


@dataclass(frozen=True)
class GenerationRequest:
    request_id: str
    prompt_token_ids: list[int]
    sampling: SamplingParams
    # Tokens an earlier attempt already streamed: generation continues after them.
    resume_token_ids: list[int] = field(default_factory=list)
    priority: int = 5  # 0 (most urgent) .. 9: the waiting list is ordered by it, then by arrival
    lora: LoraRef | None = None  # None: the base model


@dataclass(frozen=True)
class TokenLogprob:
    """A token's log probability under the model (raw logits: before temperature, penalties or
    filtering, as vLLM reports them) and the ``top`` most likely tokens at that position."""

    token_id: int
    logprob: float
    top: list[tuple[int, float]] = field(default_factory=list)

    def to_json(self) -> list:
        return [self.token_id, self.logprob, [list(pair) for pair in self.top]]


@dataclass(frozen=True)
class TokenDelta:
    """New text that is safe to show: ``text`` may be empty while a stop string or a
    multi-byte character is still undecided."""

    index: int
    text: str
    token_ids: list[int]
    logprobs: list[TokenLogprob] | None = None  # one per token id, when the request asked for them
    # Only on a request's first delta, when asked: one per prompt token (the first is None: nothing precedes it).
    prompt_logprobs: list[TokenLogprob | None] | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # "stop" (EOS or a stop string), "length" (max_tokens) or "cancelled"
    prompt_tokens: int
    completion_tokens: int
    token_ids: list[int] = field(default_factory=list)
