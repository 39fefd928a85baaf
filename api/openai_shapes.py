"""OpenAI's reply shapes built from job events: choices, log probabilities, usage.

Log probabilities travel in token events as ``[token_id, logprob, [[id, logprob], ...]]`` (see
app/jobs/events.py); here they become OpenAI's chat shape (``content`` entries with ``bytes``) or the
legacy completions shape (``tokens``, ``token_logprobs``, ``top_logprobs``, ``text_offset``). A token's
text is the tokenizer's decoding of that one id (as vLLM reports it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.jobs.events import TOKEN


@dataclass
class Choice:
    """What one choice (one job) has produced so far, from its token events."""

    index: int
    prompt_index: int = 0  # which of a text completion's prompts (usage counts each prompt once)
    prefix: str = ""  # echo: the prompt, shown before the completion
    text: str = ""
    completion_tokens: int = 0
    logprobs: list[list] = field(default_factory=list)  # [token_id, logprob, top] per generated token
    prompt_logprobs: list[list | None] | None = None
    final: dict[str, Any] | None = None
    tools: Any = None  # the chat request's offered tools (app/structured/tools.py): its output may be calls

    def tool_calls(self, call_id: str) -> list[dict[str, Any]] | None:
        """The finished output's tool calls, if the request offered tools and the model called one."""
        return self.tools.calls(self.final["output"], call_id) if self.tools is not None and self.tools.shown and self.final else None

    def add(self, event: dict[str, Any]) -> None:
        if event["type"] == TOKEN:
            self.text += event["text"]
            self.completion_tokens += len(event["token_ids"])
            self.logprobs += event.get("logprobs") or []
            if event.get("prompt_logprobs") is not None and self.prompt_logprobs is None:
                self.prompt_logprobs = event["prompt_logprobs"]
        else:
            self.final = event


class Shaper:
    """Turns token ids and log probabilities into OpenAI's JSON, with the API's tokenizer."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def piece(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id])

    def chat_logprobs(self, entries: list[list]) -> dict[str, Any]:
        """``choices[i].logprobs`` of a chat completion (or of one chunk)."""

        def one(token_id: int, logprob: float) -> dict[str, Any]:
            text = self.piece(token_id)
            return {"token": text, "logprob": logprob, "bytes": list(text.encode())}

        return {"content": [{**one(tid, lp), "top_logprobs": [one(t, p) for t, p in top]} for tid, lp, top in entries]}

    def completion_logprobs(self, entries: list[list | None], text_offset: int = 0) -> dict[str, Any]:
        """``choices[i].logprobs`` of a text completion: an entry of None (the first prompt token) has no logprob."""
        shaped: dict[str, list] = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
        for entry in entries:
            token_id, logprob, top = entry if entry is not None else (None, None, None)
            text = self.piece(token_id) if token_id is not None else ""
            shaped["tokens"].append(text)
            shaped["token_logprobs"].append(logprob)
            shaped["top_logprobs"].append({self.piece(t): p for t, p in top} if top is not None else None)
            shaped["text_offset"].append(text_offset)
            text_offset += len(text)
        return shaped

    def echoed_prompt(self, prompt_ids: list[int], prompt_logprobs: list[list | None]) -> list[list | None]:
        """The prompt's entries for ``completion_logprobs``, the first one (no logprob) given its token id."""
        return [[prompt_ids[0], None, None], *prompt_logprobs[1:]] if prompt_ids else []


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}


def finish_reason(final: dict) -> str:
    """A job cut short by its deadline keeps its partial text; OpenAI's name for a cut-short answer is "length"."""
    return "length" if final["status"] == "expired" else final["finish_reason"]


def choice_body(
    shaper: Shaper, choice: Choice, *, kind: str, wants_logprobs: bool, prompt_ids: list[int] | None, call_id: str = ""
) -> dict[str, Any]:
    """One entry of a non-streamed reply's ``choices`` (``call_id``: what its tool calls' ids derive from)."""
    assert choice.final is not None
    body: dict[str, Any] = {"index": choice.index, "finish_reason": finish_reason(choice.final), "logprobs": None}
    if kind == "chat":
        body["message"] = {"role": "assistant", "content": choice.final["output"]}
        if calls := choice.tool_calls(call_id):
            body["message"] = {"role": "assistant", "content": None, "tool_calls": calls}
            body["finish_reason"] = "tool_calls"
        if wants_logprobs:
            body["logprobs"] = shaper.chat_logprobs(choice.logprobs)
        return body
    body["text"] = choice.prefix + choice.final["output"]
    if wants_logprobs:
        echoed = shaper.echoed_prompt(prompt_ids or [], choice.prompt_logprobs or []) if choice.prefix else []
        body["logprobs"] = shaper.completion_logprobs([*echoed, *choice.logprobs])
    return body


def total_usage(choices: list[Choice], prompt_tokens: int | None) -> dict[str, int]:
    """Prompt tokens once per distinct prompt (OpenAI counts a prompt once whatever ``n``), completions all."""
    finals = [c.final for c in choices if c.final is not None]
    completion = sum((f.get("usage") or {}).get("completion_tokens", 0) for f in finals)
    if prompt_tokens is None:
        seen: dict[str, int] = {}
        for c in choices:
            if c.final is not None and c.final.get("usage"):
                seen.setdefault(c.prompt_index, c.final["usage"]["prompt_tokens"])
        prompt_tokens = sum(seen.values())
    return usage(prompt_tokens, completion)
