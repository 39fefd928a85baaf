"""OpenAI-compatible routes: chat and text completions (streaming or not) and the model list.

They are ordinary jobs through the same queue and workers; the request waits on
the job's events. A client that goes away cancels its job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, request

from api.auth import require_tenant
from api.errors import ApiError, error_response
from api.openai_schemas import ChatCompletionRequest, CompletionRequest, parse_openai
from api.services import Services, services
from api.sse import KEEPALIVE, client_gone, sse_response
from api.view_helpers import cache_header, json_body, submit
from app.jobs.event_hub import follow
from app.jobs.events import FINAL, TOKEN
from app.jobs.submit import events_source

bp = Blueprint("openai", __name__, url_prefix="/v1")
bp.before_request(require_tenant)

WAIT_TICK_S = 0.25  # how often a waiting non-streaming request checks that its client is still there


def start_job(model: type[ChatCompletionRequest] | type[CompletionRequest]) -> tuple[Services, Any, dict]:
    svc = services()
    body = parse_openai(model, json_body())
    if body.model != svc.model_name:
        message = f"The model `{body.model}` does not exist. This server serves `{svc.model_name}` (see GET /v1/models)."
        raise ApiError(404, "invalid_request_error", message, param="model", code="model_not_found")
    job = submit(body.to_job(max_tokens=svc.config.api.max_tokens))
    return svc, body, job


def cancel_if_running(svc: Services, job_id: str) -> None:
    svc.jobs.cancel(job_id)  # a no-op for a job that has ended


@bp.get("/models")
def list_models():
    """The one model this deployment serves."""
    svc = services()
    return {"object": "list", "data": [{"id": svc.model_name, "object": "model", "created": 0, "owned_by": "llmjobs"}]}


@bp.post("/chat/completions")
def chat_completions():
    """OpenAI's chat completions: ``messages`` in, an assistant message (or chunks) out."""
    svc, body, job = start_job(ChatCompletionRequest)
    return respond(svc, body, job, kind="chat")


@bp.post("/completions")
def completions():
    """OpenAI's legacy text completions: the prompt goes to the model as-is."""
    svc, body, job = start_job(CompletionRequest)
    return respond(svc, body, job, kind="text")


def respond(svc: Services, body: Any, job: dict, *, kind: str):
    response_id = ("chatcmpl-" if kind == "chat" else "cmpl-") + job["id"]
    created = int(job["created_at"])
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = stream_chunks(svc, job["id"], events_source(job), response_id, created, kind, include_usage)
        return sse_response(chunks, headers={"X-Job-Id": job["id"], "X-Cache": cache_header(job)})
    final = wait_for_final(svc, job["id"], events_source(job), request.environ)
    if final is None:
        return error_response(499, "client_closed_request", "the client went away; the job was cancelled")
    if final["status"] == "expired" and not final["output"]:
        return error_response(504, "timeout", "deadline_s passed before the job produced anything", code="deadline_exceeded")
    if final["status"] not in ("succeeded", "expired"):
        error = final.get("error") or {}
        return error_response(500, "server_error", f"generation {final['status']}: {error.get('message', 'no detail')}")
    choice: dict[str, Any] = {"index": 0, "finish_reason": openai_finish_reason(final), "logprobs": None}
    if kind == "chat":
        choice["message"] = {"role": "assistant", "content": final["output"]}
    else:
        choice["text"] = final["output"]
    return (
        {
            "id": response_id,
            "object": "chat.completion" if kind == "chat" else "text_completion",
            "created": created,
            "model": svc.model_name,
            "choices": [choice],
            "usage": final["usage"],
        },
        200,
        {"X-Job-Id": job["id"], "X-Cache": cache_header(job)},
    )


def wait_for_final(svc: Services, job_id: str, source: str, environ: dict) -> dict | None:
    """The job's final event (read from ``source``'s log), or None if the client hung up first (the job is then cancelled)."""
    for event in follow(svc.hub, svc.events, source, tick_s=WAIT_TICK_S):
        if event is not None and event["type"] == FINAL:
            return event
        if client_gone(environ):
            cancel_if_running(svc, job_id)
            return None
    return None


def stream_chunks(svc: Services, job_id: str, source: str, response_id: str, created: int, kind: str, include_usage: bool) -> Iterator[str]:
    """OpenAI's ``data: {...}`` chunks ending with ``data: [DONE]``; cancels the job if the client leaves."""
    finished = False
    base = {
        "id": response_id,
        "object": "chat.completion.chunk" if kind == "chat" else "text_completion",
        "created": created,
        "model": svc.model_name,
    }

    def chunk(text: str | None, finish_reason: str | None, first: bool = False) -> str:
        if kind == "chat":
            delta = {"role": "assistant", "content": ""} if first else ({"content": text} if text is not None else {})
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        else:
            choice = {"index": 0, "text": text or "", "finish_reason": finish_reason, "logprobs": None}
        return data({**base, "choices": [choice], **({"usage": None} if include_usage else {})})

    try:
        if kind == "chat":
            yield chunk(None, None, first=True)
        for event in follow(svc.hub, svc.events, source):
            if event is None:
                yield KEEPALIVE
            elif event["type"] == TOKEN and event["text"]:
                yield chunk(event["text"], None)
            elif event["type"] == FINAL:
                finished = True
                if event["status"] not in ("succeeded", "expired"):
                    message = (event.get("error") or {}).get("message", event["status"])
                    yield data(
                        {
                            "error": {
                                "message": f"generation {event['status']}: {message}",
                                "type": "server_error",
                                "param": None,
                                "code": None,
                            }
                        }
                    )
                else:
                    yield chunk(None, openai_finish_reason(event))
                    if include_usage:
                        yield data({**base, "choices": [], "usage": event["usage"]})
        yield "data: [DONE]\n\n"
    finally:
        if not finished:  # the client disconnected mid-stream
            cancel_if_running(svc, job_id)


def openai_finish_reason(final: dict) -> str:
    """A job cut short by its deadline keeps its partial text; OpenAI's name for a cut-short answer is "length"."""
    return "length" if final["status"] == "expired" else final["finish_reason"]


def data(payload: dict) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"
