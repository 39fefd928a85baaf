"""Turning a validated request into prompt token ids (chat template included)."""

from __future__ import annotations

from typing import Any

from app.errors import InvalidRequestError
from app.jobs.request import JobRequest
from app.structured.tools import template_messages


class PromptBuilder:
    """Renders requests with the tokenizer's chat template and checks they fit the context."""

    def __init__(self, tokenizer: Any, context_length: int) -> None:
        self.tokenizer = tokenizer
        self.context_length = context_length
        # A template that renders `tools` gets them as they are; for any other, app/structured/tools.py shows them.
        self.template_takes_tools = "tools" in str(getattr(tokenizer, "chat_template", None) or "")

    def token_ids(self, request: JobRequest) -> list[int]:
        if request.prompt is not None and (request.raw or not self.tokenizer.chat_template):
            return list(self.tokenizer.encode(request.prompt, add_special_tokens=True))
        if request.messages is not None:
            messages = [m.model_dump(exclude_none=True) for m in request.messages]
        else:
            messages = [{"role": "user", "content": request.prompt}]
        messages, tools = template_messages(messages, request.constraint()[1], self.template_takes_tools)
        extra = {"tools": tools} if tools else {}
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False, **extra)
        return list(ids)

    def check_fits(self, num_prompt_tokens: int, max_tokens: int) -> None:
        """Raise if prompt + ``max_tokens`` overflow the context."""
        room = self.context_length - max_tokens
        if num_prompt_tokens > room:
            raise InvalidRequestError(
                "prompt",
                f"the prompt has {num_prompt_tokens} tokens; with max_tokens={max_tokens} the model's "
                f"context of {self.context_length} tokens leaves room for {max(room, 0)}",
            )
