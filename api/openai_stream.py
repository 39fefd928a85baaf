"""Following the jobs of one OpenAI request (one per choice) and streaming OpenAI's chunks.

``n`` choices are ``n`` jobs; their event logs are followed side by side and merged in arrival
order (each job's own events stay in order), so choice 1 never waits for choice 0 to finish.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from api.openai_shapes import Choice, Shaper, finish_reason, total_usage, usage
from api.services import Services
from api.sse import KEEPALIVE
from app.jobs.event_hub import follow
from app.jobs.events import FINAL, TOKEN

Item = tuple[int, dict[str, Any]]  # (choice index, event)


def follow_all(svc: Services, sources: list[str], tick_s: float = 2.0) -> Iterator[Item | None]:
    """Every event of every job in ``sources`` as (choice index, event); None every ``tick_s`` of
    silence (keep-alives, the client check). Ends after each job's final event."""
    if len(sources) == 1:
        for event in follow(svc.hub, svc.events, sources[0], tick_s=tick_s):
            yield None if event is None else (0, event)
        return
    inbox: queue.Queue[tuple[int, dict[str, Any] | Exception]] = queue.Queue()
    stop = threading.Event()

    def pump(index: int, source: str) -> None:
        try:
            for event in follow(svc.hub, svc.events, source, tick_s=tick_s):
                if stop.is_set():
                    return
                if event is not None:
                    inbox.put((index, event))
        except Exception as exc:  # handed to the request's own thread, which raises it
            inbox.put((index, exc))

    for index, source in enumerate(sources):
        threading.Thread(target=pump, args=(index, source), name="llmjobs-openai-follow", daemon=True).start()
    pending = len(sources)
    try:
        while pending:
            try:
                index, event = inbox.get(timeout=tick_s)
            except queue.Empty:
                yield None
                continue
            if isinstance(event, Exception):
                raise event
            pending -= event["type"] == FINAL
            yield index, event
    finally:
        stop.set()


@dataclass
class StreamPlan:
    response_id: str
    created: int
    model: str
    kind: str  # "chat" or "text"
    choices: list[Choice]
    include_usage: bool
    continuous_usage: bool
    wants_logprobs: bool
    prompt_tokens: int  # known up front only when it is needed (continuous usage); else from the final events
    prompt_ids: list[list[int]]  # per choice, for echoed log probabilities; empty lists otherwise


def data(payload: dict) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


def stream_chunks(svc: Services, plan: StreamPlan, shaper: Shaper, sources: list[str], cancel_all: Any) -> Iterator[str]:
    """OpenAI's ``data: {...}`` chunks ending with ``data: [DONE]``; cancels the jobs if the client leaves."""
    finished = False
    base = {"id": plan.response_id, "object": "chat.completion.chunk" if plan.kind == "chat" else "text_completion"}
    base |= {"created": plan.created, "model": plan.model}
    prompt_tokens = plan.prompt_tokens  # continuous usage: counted before generation

    def chunk(choice: dict[str, Any]) -> str:
        extra: dict[str, Any] = {}
        if plan.continuous_usage:
            extra["usage"] = usage(prompt_tokens, sum(c.completion_tokens for c in plan.choices))
        elif plan.include_usage:
            extra["usage"] = None
        return data({**base, "choices": [choice], **extra})

    try:
        if plan.kind == "chat":
            for c in plan.choices:
                yield chunk({"index": c.index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None, "logprobs": None})
        for item in follow_all(svc, sources):
            if item is None:
                yield KEEPALIVE
                continue
            index, event = item
            choice = plan.choices[index]
            first = choice.completion_tokens == 0 and not choice.text
            choice.add(event)
            held = plan.kind == "chat" and choice.tools is not None and choice.tools.shown
            if event["type"] == TOKEN:
                body = None if held else token_chunk(plan, shaper, choice, event, first)  # with tools: whole at the end
                if body is not None:
                    yield chunk(body)
            elif event["status"] not in ("succeeded", "expired"):
                finished = True
                message = (event.get("error") or {}).get("message", event["status"])
                error = {"message": f"generation {event['status']}: {message}", "type": "server_error", "param": None, "code": None}
                yield data({"error": error})
                cancel_all()
                break
            else:
                reason = finish_reason(event)
                if held:  # the answer is either tool calls (OpenAI's delta.tool_calls, each whole) or text
                    calls = choice.tool_calls(f"{plan.response_id}/{index}")
                    delta = {"tool_calls": [{"index": i, **call} for i, call in enumerate(calls)]} if calls else {"content": choice.text}
                    reason = "tool_calls" if calls else reason
                    yield chunk({"index": index, "delta": delta, "finish_reason": None, "logprobs": None})
                delta_key = {"delta": {}} if plan.kind == "chat" else {"text": ""}
                yield chunk({"index": index, **delta_key, "finish_reason": reason, "logprobs": None})
        else:
            finished = True
            if plan.include_usage:
                yield data({**base, "choices": [], "usage": total_usage(plan.choices, plan.prompt_tokens or None)})
        yield "data: [DONE]\n\n"
    finally:
        if not finished:  # the client disconnected mid-stream
            cancel_all()


def token_chunk(plan: StreamPlan, shaper: Shaper, choice: Choice, event: dict[str, Any], first: bool) -> dict[str, Any] | None:
    """The chunk for one token event of ``choice`` (None when it adds nothing to show)."""
    entries = event.get("logprobs") or []
    text = event["text"]
    if plan.kind == "chat":
        if not text and not (plan.wants_logprobs and entries):
            return None
        logprobs = shaper.chat_logprobs(entries) if plan.wants_logprobs else None
        return {"index": choice.index, "delta": {"content": text}, "finish_reason": None, "logprobs": logprobs}
    echoed: list[list | None] = []
    if first and choice.prefix:  # echo: the prompt goes out with the first token
        text = choice.prefix + text
        echoed = shaper.echoed_prompt(plan.prompt_ids[choice.index], choice.prompt_logprobs or [])
    if not text and not (plan.wants_logprobs and entries):
        return None
    logprobs = None
    if plan.wants_logprobs:
        offset = len(choice.prefix) + len(choice.text) - len(event["text"]) if not first else 0
        logprobs = shaper.completion_logprobs([*echoed, *entries], text_offset=offset)
    return {"index": choice.index, "text": text, "finish_reason": None, "logprobs": logprobs}
