"""The request a client submits, validated with pydantic.

The API validates every body with :func:`parse_job_request`; the worker parses
the stored copy again with the same function before generating, so a message
that bypassed the API cannot reach the model unchecked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from app.errors import InvalidRequestError
from app.structured.spec import OutputSpec, output_spec
from app.structured.tools import Tools, parse_tools

MAX_STOP_STRINGS = 4
MAX_LOGPROBS = 20  # OpenAI's ceiling for top_logprobs

# vLLM's extensions, each passed to the engine only when it differs from its default (so the
# sampling dict, and the result cache's keys made from it, stay as they were for everyone else).
EXTENSION_DEFAULTS: dict[str, Any] = {
    "min_tokens": 0,
    "repetition_penalty": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "logprobs": None,
    "prompt_logprobs": None,
    "skip_special_tokens": True,
    "include_stop_str_in_output": False,
}


def _as_stop_list(value: Any) -> list[str]:
    """``stop`` may be one string or a list of them (as in OpenAI's API)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ValueError("must be a string or a list of strings")


class FunctionCall(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=64)
    arguments: str  # JSON text, as OpenAI's calls carry it


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(min_length=1, max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["system", "user", "assistant", "tool"]
    tool_calls: list[ToolCall] | None = None  # an assistant's calls, OpenAI's shape
    tool_call_id: str | None = None  # a tool's result: the call it answers
    content: str | None = Field(default=None, validate_default=True)  # None only for an assistant's turn that called tools

    @field_validator("content")
    @classmethod
    def _content(cls, content: str | None, info: ValidationInfo) -> str | None:
        if content is None and not (info.data.get("role") == "assistant" and info.data.get("tool_calls")):
            raise ValueError("Field required (only an assistant's turn with tool_calls may have none)")
        return content


class LoraChoice(BaseModel):
    """The adapter a job runs with, as the API resolved its ``model`` (app/jobs/lora_registry.py). Set by the API only:
    a client names an adapter as ``model`` and never gives a path."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str
    path: str
    digest: str


class JobRequest(BaseModel):
    """Body of ``POST /v1/jobs``: either ``prompt`` or ``messages``, plus sampling."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # Which model: absent, the deployment's default (LLMJOBS_MODEL of the API). Not stored in the request
    # (the job record has its own `model`), so naming the default or not gives the same cache keys.
    model: str | None = Field(default=None, min_length=1, max_length=256)
    prompt: str | None = Field(default=None, min_length=1)
    messages: list[Message] | None = Field(default=None, min_length=1)
    raw: bool = False  # feed `prompt` to the model as-is instead of as one chat turn
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int = Field(default=0, ge=0)  # 0: no top-k filtering
    stop: Annotated[list[str], BeforeValidator(_as_stop_list)] = Field(default_factory=list)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    ignore_eos: bool = False  # generate exactly max_tokens (for benchmarks that compare equal work)
    priority: int = Field(default=5, ge=0, le=9)  # lower runs first (as vLLM and Celery's Redis transport order it)
    deadline_s: float | None = Field(default=None, gt=0, le=7 * 86400)  # after submission: not done by then -> "expired"
    stream: bool = False  # answer the submit with the event stream itself (not stored with the job)
    cache: bool = True  # False: neither answer from the result cache nor store this answer in it
    min_tokens: int = Field(default=0, ge=0)  # no EOS or stop string before this many tokens
    repetition_penalty: float = Field(default=1.0, gt=0.0, le=2.0)
    presence_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    frequency_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    logprobs: int | None = Field(default=None, ge=0, le=MAX_LOGPROBS)  # each token's log probability + this many alternatives
    prompt_logprobs: int | None = Field(default=None, ge=0, le=MAX_LOGPROBS)  # the same for the prompt's tokens
    skip_special_tokens: bool = True
    include_stop_str_in_output: bool = False
    # Where to announce the job's end (app/webhooks); None: the tenant's default, "": none. Not stored in the request.
    webhook: str | None = Field(default=None, max_length=2048)
    # Structured outputs (app/structured): OpenAI's response_format, vLLM's guided_* and structured_outputs, and tools.
    response_format: dict[str, Any] | None = None
    guided_json: dict[str, Any] | str | None = None
    guided_regex: str | None = None
    guided_choice: list[str] | None = None
    guided_grammar: str | None = None
    structured_outputs: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    lora: SkipJsonSchema[LoraChoice | None] = None  # kept in the job record, never accepted from a client (parse_job_request)
    _constraint: tuple[OutputSpec | None, Tools | None] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_input(self) -> JobRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        if self.raw and self.messages is not None:
            raise ValueError("'raw' applies to 'prompt' only")
        if len(self.stop) > MAX_STOP_STRINGS or any(not s for s in self.stop):
            raise ValueError(f"'stop' takes at most {MAX_STOP_STRINGS} non-empty strings")
        if self.max_tokens is not None and self.min_tokens > self.max_tokens:
            raise ValueError("'min_tokens' must not exceed 'max_tokens'")
        return self

    def constraint(self) -> tuple[OutputSpec | None, Tools | None]:
        """The output's grammar (a response format, a guided field, or the tool call ``tool_choice`` forces) and
        the tools offered; a 400 naming the field when one is wrong or two are given."""
        if self._constraint is None:
            guided = {name: getattr(self, name) for name in ("guided_json", "guided_regex", "guided_choice", "guided_grammar")}
            found = output_spec(response_format=self.response_format, guided=guided, structured=self.structured_outputs)
            tools = parse_tools(self.tools, self.tool_choice, self.parallel_tool_calls)
            if tools is not None and self.raw:
                raise InvalidRequestError("tools", "tools: need a chat turn ('messages', or a 'prompt' without raw)")
            forced = tools.spec() if tools is not None else None
            if found is not None and forced is not None:
                raise InvalidRequestError("tool_choice", f"tool_choice: a forced tool call and {found[0]} cannot both shape the output")
            self._constraint = (found[1] if found else forced, tools)
        return self._constraint

    def stored(self) -> dict[str, Any]:
        """The request as kept in the job record and read back by the worker (extensions only where used)."""
        stored = self.model_dump(exclude_none=True, exclude={"stream", "cache", "model", "webhook"})
        return {k: v for k, v in stored.items() if k not in EXTENSION_DEFAULTS or v != EXTENSION_DEFAULTS[k]}

    def sampling(self, default_max_tokens: int) -> dict[str, Any]:
        """The sampling parameters, named as the engine's ``SamplingParams`` fields (plain data:
        the API never imports the engine)."""
        return {
            "max_tokens": self.max_tokens or default_max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "stop": list(self.stop),
            "seed": self.seed,
            "ignore_eos": self.ignore_eos,
            **{name: getattr(self, name) for name, default in EXTENSION_DEFAULTS.items() if getattr(self, name) != default},
            **({"structured": spec.to_json()} if (spec := self.constraint()[0]) is not None else {}),
        }


def parse_job_request(body: Any, *, max_tokens: int, stored: bool = False) -> JobRequest:
    """Validate a decoded JSON body (``stored``: a job record's copy, which may carry its ``lora``); raise
    :class:`InvalidRequestError` naming the field."""
    if not isinstance(body, dict):
        raise InvalidRequestError("body", "the request body must be a JSON object")
    if "lora" in body and not stored:
        raise InvalidRequestError("lora", "lora: Extra inputs are not permitted (name a LoRA adapter as the request's `model`)")
    try:
        request = JobRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(part) for part in first["loc"]) or "body"
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidRequestError(loc, f"{loc}: {message}") from None
    if request.max_tokens is not None and request.max_tokens > max_tokens:
        raise InvalidRequestError("max_tokens", f"max_tokens: must be at most {max_tokens}, got {request.max_tokens}")
    request.constraint()  # checked (and compiled once) now: a constraint the engine cannot follow is never queued
    return request
