"""OpenAI request bodies, validated and mapped onto our own job request.

Fields we do not implement are refused with a 400 that names them, never ignored:
a client asking for ``n=3`` or ``tools`` must not silently get something else.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import InvalidRequestError
from app.jobs.request import JobRequest, parse_job_request


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ChatMessage(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]
    name: str | None = None

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class StreamOptions(_Strict):
    include_usage: bool = False


class _Common(_Strict):
    model: str
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None  # an extension, as in vLLM
    ignore_eos: bool | None = None  # an extension, as in vLLM and llama.cpp: exactly max_tokens
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    priority: int | None = None  # an extension: 0 (most urgent) .. 9, default 5
    deadline_s: float | None = None  # an extension: seconds after submission; past it the job ends
    presence_penalty: float | None = None
    frequency_penalty: float | None = None

    def check_supported(self) -> None:
        if self.n not in (None, 1):
            raise InvalidRequestError("n", "n > 1 is not supported: send one request per completion")
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(self, name) not in (None, 0, 0.0):
                raise InvalidRequestError(name, f"{name} is not supported (only 0)")
        if self.stream_options is not None and not self.stream:
            raise InvalidRequestError("stream_options", "stream_options is only allowed when stream is true")

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
        }
        return {k: v for k, v in fields.items() if v is not None}


class ChatCompletionRequest(_Common):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = None

    def to_job(self, *, max_tokens: int) -> JobRequest:
        self.check_supported()
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in self.messages]
        limit = self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens
        body = {"messages": messages, **self.sampling_fields(), **({"max_tokens": limit} if limit is not None else {})}
        return parse_job_request(body, max_tokens=max_tokens)


class CompletionRequest(_Common):
    prompt: str | list[str]
    echo: bool | None = None
    logprobs: int | None = None
    suffix: str | None = None
    best_of: int | None = None

    def to_job(self, *, max_tokens: int) -> JobRequest:
        self.check_supported()
        for name in ("echo", "logprobs", "suffix"):
            if getattr(self, name):
                raise InvalidRequestError(name, f"{name} is not supported")
        if self.best_of not in (None, 1):
            raise InvalidRequestError("best_of", "best_of > 1 is not supported")
        prompts = [self.prompt] if isinstance(self.prompt, str) else self.prompt
        if len(prompts) != 1:
            raise InvalidRequestError("prompt", "send exactly one prompt per request (batches of prompts are not supported)")
        body = {"prompt": prompts[0], "raw": True, **self.sampling_fields()}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        return parse_job_request(body, max_tokens=max_tokens)


def parse_openai(model: type[_Common], body: Any) -> _Common:
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
