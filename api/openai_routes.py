"""OpenAI-compatible routes: chat and text completions (streaming or not) and the model list.

Each choice is an ordinary job through the same queue and workers (``n`` > 1 or several prompts:
several jobs, whose shared prompt prefix the batching engine's prefix cache reuses); the request
waits on the jobs' events. A client that goes away cancels its jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, g, request

from api.auth import require_tenant
from api.errors import error_response
from api.openai_reply import choices_of, completion_body, first_problem
from api.openai_schemas import EMBEDDING_MODEL, ChatCompletionRequest, CompletionRequest, parse_openai
from api.openai_shapes import Choice, Shaper
from api.openai_stream import StreamPlan, follow_all, stream_chunks
from api.services import Services, services
from api.sse import client_gone, sse_response
from api.view_helpers import cache_header, json_body, submit, submitter_for
from app.jobs.request import JobRequest
from app.jobs.routing import ModelServing
from app.jobs.submit import SubmitService, events_source

bp = Blueprint("openai", __name__, url_prefix="/v1")
bp.before_request(require_tenant)

WAIT_TICK_S = 0.25  # how often a waiting non-streaming request checks that its client is still there


@dataclass
class Started:
    svc: Services
    submitter: SubmitService  # the service of the model the request names
    body: ChatCompletionRequest | CompletionRequest
    requests: list[JobRequest]  # one per choice
    jobs: list[dict]

    @property
    def sources(self) -> list[str]:
        return [events_source(job) for job in self.jobs]

    def cancel_all(self) -> None:
        for job in self.jobs:
            self.svc.jobs.cancel(job["id"])  # a no-op for a job that has ended

    def headers(self) -> dict[str, str]:
        return {"X-Job-Id": ",".join(job["id"] for job in self.jobs), "X-Cache": cache_header(self.jobs[0])}


def start(model: type[ChatCompletionRequest] | type[CompletionRequest]) -> Started:
    """Validate the body and submit one job per choice (all or none: a refused one cancels the rest)."""
    svc = services()
    body = parse_openai(model, json_body())
    submitter = submitter_for(body.model, body.deadline_s)  # 404 for an unknown model, 503 for one no worker serves
    started = Started(svc, submitter, body, body.to_jobs(max_tokens=svc.config.api.max_tokens), [])
    try:
        for job_request in started.requests:
            started.jobs.append(submit(job_request, submitter))
    except Exception:  # re-raised: the error handlers answer it; the choices already queued must not run
        started.cancel_all()
        raise
    return started


@bp.get("/models")
def list_models():
    """The default LLM first (clients that take the first model get it), then every other model live workers
    serve, each with its context length (vLLM's ``max_model_len``) and its live ``workers`` and their ``slots``;
    then the LoRA adapters the caller may use, each with its ``parent`` (vLLM's cards; a tenant pinned to
    adapters sees only those); then the embedding model of ``/v1/embeddings``."""
    svc = services()
    embedder = {"id": EMBEDDING_MODEL, "object": "model", "created": 0, "owned_by": "sentence-transformers", "max_model_len": 256}
    bases = [] if g.tenant in svc.loras.pins else model_cards(svc)
    return {"object": "list", "data": [*bases, *lora_cards(svc, g.tenant), embedder]}


def lora_cards(svc: Services, tenant: str) -> list[dict[str, Any]]:
    return [{"id": lora.name, "object": "model", "created": lora.created, "owned_by": "llmjobs", "root": lora.path,
             "parent": lora.parent, "max_model_len": None} for lora in svc.loras.visible(tenant)]  # fmt: skip


def model_cards(svc: Services) -> list[dict[str, Any]]:
    serving = svc.catalog.serving()
    cards = []
    for model in [svc.model_name, *sorted(set(serving) - {svc.model_name})]:
        served = serving.get(model, ModelServing(model))
        length = svc.submitter.prompts.context_length if model == svc.model_name else served.max_model_len
        cards.append({"id": model, "object": "model", "created": 0, "owned_by": "llmjobs", "root": model, "parent": None,
                      "max_model_len": length, "workers": served.workers, "slots": served.slots})  # fmt: skip
    return cards


@bp.post("/chat/completions")
def chat_completions():
    """OpenAI's chat completions: ``messages`` in, an assistant message (or chunks) out."""
    return respond(start(ChatCompletionRequest), kind="chat")


@bp.post("/completions")
def completions():
    """OpenAI's legacy text completions: each prompt goes to the model as-is."""
    return respond(start(CompletionRequest), kind="text")


def respond(started: Started, *, kind: str):
    svc, body, first = started.svc, started.body, started.jobs[0]
    response_id = ("chatcmpl-" if kind == "chat" else "cmpl-") + first["id"]
    choices = choices_of(body, started.requests, kind)
    shaper, model = Shaper(started.submitter.prompts.tokenizer), started.submitter.reply_model
    options = body.stream_options
    continuous = bool(options and options.continuous_usage_stats)
    echo_logprobs = kind == "text" and bool(getattr(body, "echo", False)) and body.wants_logprobs
    prompt_ids = [started.submitter.prompts.token_ids(r) if (echo_logprobs or continuous) else [] for r in started.requests]
    if body.stream:
        prompt_tokens = sum(len(ids) for ids, c in zip(prompt_ids, choices, strict=True) if c.index % body.num_choices == 0)
        plan = StreamPlan(response_id, int(first["created_at"]), model, kind, choices,
                          include_usage=bool(options and options.include_usage), continuous_usage=continuous,
                          wants_logprobs=body.wants_logprobs, prompt_tokens=prompt_tokens, prompt_ids=prompt_ids)  # fmt: skip
        return sse_response(stream_chunks(svc, plan, shaper, started.sources, started.cancel_all), headers=started.headers())
    if not wait_all(started, choices, request.environ):
        return error_response(499, "client_closed_request", "the client went away; the job was cancelled")
    problem = first_problem(body, choices, echo_logprobs)
    if problem is not None:
        started.cancel_all()
        return problem[1], problem[0]
    reply = completion_body(response_id=response_id, created=int(first["created_at"]), model=model, kind=kind, body=body,
                            choices=choices, shaper=shaper, prompt_ids=prompt_ids)  # fmt: skip
    return reply, 200, started.headers()


def wait_all(started: Started, choices: list[Choice], environ: dict) -> bool:
    """Collect every choice's events up to its final one; False (the jobs cancelled) if the client hung up first."""
    for item in follow_all(started.svc, started.sources, tick_s=WAIT_TICK_S):
        if client_gone(environ):
            started.cancel_all()
            return False
        if item is not None:
            choices[item[0]].add(item[1])
    return True
