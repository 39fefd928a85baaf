"""Parsing OpenAI-style streams (``data: {...}`` lines ending with ``data: [DONE]``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class BadStream(ValueError):
    """The body is not an OpenAI event stream."""


@dataclass
class StreamState:
    """What a stream has told so far."""

    text_chunks: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    done: bool = False
    error: str | None = None


def feed_line(state: StreamState, line: str) -> str | None:
    """Apply one line of the stream; return the text it added (None if none)."""
    line = line.strip()
    if not line or line.startswith(":"):
        return None
    if not line.startswith("data:"):
        if line.startswith(("event:", "id:", "retry:")):
            return None
        raise BadStream(f"not an event-stream line: {line[:80]!r}")
    payload = line[5:].strip()
    if payload == "[DONE]":
        state.done = True
        return None
    try:
        chunk = json.loads(payload)
    except json.JSONDecodeError:
        raise BadStream(f"chunk is not JSON: {payload[:80]!r}") from None
    if not isinstance(chunk, dict):
        raise BadStream("chunk is not a JSON object")
    if "error" in chunk:
        state.error = str(chunk["error"].get("message") if isinstance(chunk["error"], dict) else chunk["error"])
        return None
    if chunk.get("usage"):
        state.usage = chunk["usage"]
    added = None
    for choice in chunk.get("choices") or []:
        text = choice.get("text")
        if text is None:
            text = (choice.get("delta") or {}).get("content")
        if text:
            state.text_chunks.append(text)
            added = (added or "") + text
        if choice.get("finish_reason"):
            state.finish_reason = choice["finish_reason"]
    return added
