"""``POST /tokenize`` and ``POST /detokenize``, as vLLM and llama-server serve them, with the
API's own copy of the model's tokenizer (the API process never loads the model)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.auth import require_tenant
from api.openai_schemas import DetokenizeRequest, TokenizeRequest, parse_openai
from api.services import services
from api.view_helpers import json_body
from app.errors import InvalidRequestError

bp = Blueprint("tokenize", __name__)
bp.before_request(require_tenant)


@bp.post("/tokenize")
def tokenize():
    """Text (or chat messages, through the chat template) to token ids: ``{"tokens", "count", "max_model_len"}``."""
    body = parse_openai(TokenizeRequest, json_body())
    prompts = services().models.tokenizing(body.model).prompts  # that model's own tokenizer (404 for an unknown one)
    ids = token_ids(prompts.tokenizer, body)
    reply: dict[str, Any] = {"tokens": ids, "count": len(ids), "max_model_len": prompts.context_length}
    pieces = [prompts.tokenizer.decode([i]) for i in ids] if body.with_pieces or body.return_token_strs else None
    if body.with_pieces:
        reply["tokens"] = [{"id": i, "piece": piece} for i, piece in zip(ids, pieces or [], strict=True)]
    reply["token_strs"] = pieces if body.return_token_strs else None
    return reply


@bp.post("/detokenize")
def detokenize():
    """Token ids to text: ``{"prompt"}`` (vLLM) and the same as ``{"content"}`` (llama-server)."""
    body = parse_openai(DetokenizeRequest, json_body())
    tokenizer = services().models.tokenizing(body.model).prompts.tokenizer
    bad = [i for i in body.tokens if not 0 <= i < len(tokenizer)]
    if bad:
        raise InvalidRequestError("tokens", f"tokens: {bad[0]} is not a token id of this model (0 .. {len(tokenizer) - 1})")
    text = tokenizer.decode(body.tokens)
    return {"prompt": text, "content": text}


def token_ids(tokenizer: Any, body: TokenizeRequest) -> list[int]:
    if (body.messages is None) == (body.prompt is None and body.content is None):
        raise InvalidRequestError("prompt", "give exactly one of 'prompt' (or 'content') and 'messages'")
    if body.messages is not None:
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text() or ""} for m in body.messages]
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=body.add_generation_prompt, tokenize=True, return_dict=False)
        return list(ids)
    special = body.add_special_tokens if body.add_special_tokens is not None else body.add_special
    text = body.prompt if body.prompt is not None else body.content
    return list(tokenizer.encode(text, add_special_tokens=True if special is None else special))
