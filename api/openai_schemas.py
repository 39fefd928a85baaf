"""OpenAI request bodies, validated and mapped onto our own job requests (one per choice).

Fields we do not implement are refused with a 400 that names them, never ignored: a client asking
for ``best_of`` must not silently get something else. Structured outputs (``response_format``, vLLM's ``guided_*``
and ``structured_outputs``) and ``tools`` map onto the job request's own fields (app/structured). vLLM's widely used extensions
(``min_tokens``, ``repetition_penalty``, ``skip_special_tokens``, ``include_stop_str_in_output``,
``stream_options.continuous_usage_stats``, ``top_k``, ``ignore_eos``) are honoured; ``user`` is
accepted and ignored (the tenant comes from the API key).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.errors import InvalidRequestError
from app.jobs.request import MAX_LOGPROBS, JobRequest, parse_job_request
from app.structured.tools import Tools, parse_tools

M = TypeVar("M", bound=BaseModel)
EMBEDDING_MODEL = "all-MiniLM-L6-v2"  # /v1/embeddings' model (the semantic cache's)
MAX_CHOICES = 16  # n (times the prompts of a text completion): each choice is a job of its own
STRUCTURED_FIELDS = ("response_format", "guided_json", "guided_regex", "guided_choice", "guided_grammar", "structured_outputs")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ChatMessage(_Strict):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None  # None: an assistant's turn that called tools
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None  # an assistant's calls
    tool_call_id: str | None = None  # a tool's result: the call it answers

    @model_validator(mode="after")
    def _content(self) -> ChatMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError("a message needs content (only an assistant's turn with tool_calls may have none)")
        return self

    def text(self) -> str | None:
        if self.content is None:
            return None
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)

    def as_job_message(self) -> dict[str, Any]:
        message = {"role": "system" if self.role == "developer" else self.role, "content": self.text()}
        message.update({k: v for k, v in (("tool_calls", self.tool_calls), ("tool_call_id", self.tool_call_id)) if v is not None})
        return message


class StreamOptions(_Strict):
    include_usage: bool = False
    continuous_usage_stats: bool = False  # vLLM's: usage so far in every chunk


class _Common(_Strict):
    model: str
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None  # an extension, as in vLLM
    ignore_eos: bool | None = None  # an extension, as in vLLM and llama.cpp: exactly max_tokens
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = Field(default=None, ge=1, le=MAX_CHOICES)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    priority: int | None = None  # an extension: 0 (most urgent) .. 9, default 5
    deadline_s: float | None = None  # an extension: seconds after submission; past it the job ends
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repetition_penalty: float | None = None  # vLLM's extensions from here on
    min_tokens: int | None = None
    skip_special_tokens: bool | None = None
    include_stop_str_in_output: bool | None = None
    webhook: str | None = None  # ours: announce each choice's job's end (app/webhooks)
    response_format: dict[str, Any] | None = None  # OpenAI's structured outputs: json_object, json_schema (app/structured)
    guided_json: dict[str, Any] | str | None = None  # vLLM's, and its newer structured_outputs object
    guided_regex: str | None = None
    guided_choice: list[str] | None = None
    guided_grammar: str | None = None
    structured_outputs: dict[str, Any] | None = None

    @property
    def num_choices(self) -> int:
        return self.n or 1

    def check_supported(self) -> None:
        if self.stream_options is not None and not self.stream:
            raise InvalidRequestError("stream_options", "stream_options is only allowed when stream is true")

    def choices_of(self, body: dict[str, Any], *, max_tokens: int) -> list[JobRequest]:
        """``n`` job requests for one prompt: a seeded request's choices use seed, seed + 1, ... so that
        they differ yet repeat; none of them goes through the result cache (the choices must differ)."""
        if self.num_choices == 1:
            return [parse_job_request(body, max_tokens=max_tokens)]
        seeds = [None if self.seed is None else (self.seed + i) % 2**63 for i in range(self.num_choices)]
        return [parse_job_request({**body, "seed": seed, "cache": False}, max_tokens=max_tokens) for seed in seeds]

    def sampling_fields(self) -> dict[str, Any]:
        fields = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "stop": self.stop,
            "seed": self.seed,
            "ignore_eos": self.ignore_eos,
            "priority": self.priority,
            "deadline_s": self.deadline_s,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "repetition_penalty": self.repetition_penalty,
            "min_tokens": self.min_tokens,
            "skip_special_tokens": self.skip_special_tokens,
            "include_stop_str_in_output": self.include_stop_str_in_output,
            "webhook": self.webhook,
            **{name: getattr(self, name) for name in STRUCTURED_FIELDS},
        }
        return {k: v for k, v in fields.items() if v is not None}


class ChatCompletionRequest(_Common):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_LOGPROBS)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None  # false: a forced answer (`required`) holds one call

    def tool_set(self) -> Tools | None:
        return parse_tools(self.tools, self.tool_choice, self.parallel_tool_calls)

    @property
    def wants_logprobs(self) -> bool:
        return bool(self.logprobs)

    def to_jobs(self, *, max_tokens: int) -> list[JobRequest]:
        """One job request per choice (``n``)."""
        self.check_supported()
        if self.top_logprobs is not None and not self.logprobs:
            raise InvalidRequestError("top_logprobs", "top_logprobs needs logprobs: true")
        messages = [m.as_job_message() for m in self.messages]
        limit = self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens
        body = {"messages": messages, **self.sampling_fields(), **({"max_tokens": limit} if limit is not None else {})}
        body.update({name: value for name in ("tools", "tool_choice", "parallel_tool_calls") if (value := getattr(self, name)) is not None})
        if self.logprobs:  # answers from the result cache carry no log probabilities
            body.update(logprobs=self.top_logprobs or 0, cache=False)
        return self.choices_of(body, max_tokens=max_tokens)


class CompletionRequest(_Common):
    prompt: str | list[str] = Field(min_length=1)
    echo: bool | None = None
    logprobs: int | None = Field(default=None, ge=0, le=MAX_LOGPROBS)
    suffix: str | None = None
    best_of: int | None = None

    @property
    def wants_logprobs(self) -> bool:
        return self.logprobs is not None

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else self.prompt

    def to_jobs(self, *, max_tokens: int) -> list[JobRequest]:
        """One job request per choice: ``n`` for each prompt, prompt by prompt (OpenAI's choice order)."""
        self.check_supported()
        if self.suffix:
            raise InvalidRequestError("suffix", "suffix is not supported")
        if self.best_of not in (None, 1, self.n):
            raise InvalidRequestError("best_of", "best_of > n is not supported")
        if len(self.prompts) * self.num_choices > MAX_CHOICES:
            raise InvalidRequestError("n", f"at most {MAX_CHOICES} choices per request (prompts times n)")
        jobs = []
        for prompt in self.prompts:
            body = {"prompt": prompt, "raw": True, **self.sampling_fields()}
            if self.max_tokens is not None:
                body["max_tokens"] = self.max_tokens
            if self.logprobs is not None:  # answers from the result cache carry no log probabilities
                body.update(logprobs=self.logprobs, cache=False)
            if self.echo and self.logprobs is not None:
                body["prompt_logprobs"] = self.logprobs
            jobs += self.choices_of(body, max_tokens=max_tokens)
        return jobs


class TokenizeRequest(BaseModel):
    """vLLM's body (``prompt`` or ``messages``, ``add_special_tokens``) or llama-server's (``content``, ``add_special``)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    prompt: str | None = None
    content: str | None = None  # llama-server's name for the text
    messages: list[ChatMessage] | None = Field(default=None, min_length=1)
    add_special_tokens: bool | None = None
    add_special: bool | None = None  # llama-server's name
    add_generation_prompt: bool = True
    with_pieces: bool = False  # llama-server: each token with its text
    return_token_strs: bool = False  # vLLM: the tokens' strings as well


class DetokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    tokens: list[int]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    input: str | list[str] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None  # accepted and ignored: the tenant comes from the API key


def parse_openai(model: type[M], body: Any) -> M:
    """``body`` validated as ``model``; a 400 naming the first bad field (an unknown one as OpenAI words it)."""
    if not isinstance(body, dict):
        raise InvalidRequestError("body", "the request body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(part) for part in first["loc"]) or "body"
        if first["type"] == "extra_forbidden":
            raise InvalidRequestError(loc, f"Unrecognized request argument supplied: {loc} (not supported by this server)") from None
        raise InvalidRequestError(loc, f"{loc}: {first['msg'].removeprefix('Value error, ')}") from None
