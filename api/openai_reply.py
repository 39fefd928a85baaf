"""A non-streamed OpenAI completion built from its jobs' events: the online routes' reply and a batch
line's response body are this one function's, so the two cannot differ."""

from __future__ import annotations

from typing import Any

from api.errors import error_body
from api.openai_schemas import ChatCompletionRequest, CompletionRequest
from api.openai_shapes import Choice, Shaper, choice_body, total_usage
from app.jobs.request import JobRequest

Problem = tuple[int, dict[str, Any]]  # (status, OpenAI's error body)


def choices_of(body: ChatCompletionRequest | CompletionRequest, requests: list[JobRequest], kind: str) -> list[Choice]:
    per_prompt = body.num_choices
    echo = kind == "text" and bool(getattr(body, "echo", False))
    tools = body.tool_set() if isinstance(body, ChatCompletionRequest) else None
    return [Choice(i, prompt_index=i // per_prompt, prefix=(r.prompt or "") if echo else "", tools=tools) for i, r in enumerate(requests)]


def final_problem(final: dict[str, Any], logprobs: list | None = None, prompt_missing: bool = False) -> Problem | None:
    """The error answer for a choice that did not succeed (or whose log probabilities are missing), or None."""
    if final.get("status") == "expired" and not final.get("output"):
        return 504, error_body("timeout", "deadline_s passed before the job produced anything", code="deadline_exceeded")
    if final.get("status") not in ("succeeded", "expired"):
        error = final.get("error") or {}
        return 500, error_body("server_error", f"generation {final.get('status')}: {error.get('message', 'no detail')}")
    missing = logprobs is not None and len(logprobs) < (final.get("usage") or {}).get("completion_tokens", 0)
    if missing or prompt_missing:  # never a silent gap
        return 500, error_body("server_error", "the job's token events, which carry the log probabilities, are no longer kept")
    return None


def first_problem(body: ChatCompletionRequest | CompletionRequest, choices: list[Choice], echo_logprobs: bool) -> Problem | None:
    for choice in choices:
        logprobs = choice.logprobs if body.wants_logprobs else None
        problem = final_problem(choice.final or {}, logprobs, prompt_missing=echo_logprobs and not choice.prompt_logprobs)
        if problem is not None:
            return problem
    return None


def completion_body(*, response_id: str, created: int, model: str, kind: str, body: ChatCompletionRequest | CompletionRequest,
                    choices: list[Choice], shaper: Shaper, prompt_ids: list[list[int]]) -> dict[str, Any]:  # fmt: skip
    """OpenAI's ``chat.completion`` or ``text_completion`` object, every choice ended."""
    return {
        "id": response_id,
        "object": "chat.completion" if kind == "chat" else "text_completion",
        "created": created,
        "model": model,
        "choices": [
            choice_body(
                shaper, c, kind=kind, wants_logprobs=body.wants_logprobs, prompt_ids=prompt_ids[c.index], call_id=f"{response_id}/{c.index}"
            )
            for c in choices
        ],  # fmt: skip
        "usage": total_usage(choices, None),
    }
