"""How a batch line runs (app/batches/executor.py's protocol): validated, submitted and answered exactly
as the same request is online, through the same submit service, result cache and reply shapes; at the
lowest priority, never streamed, paced by the batch runner instead of the tenant's rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kombu.exceptions
import redis

from api.embedding_service import Embeddings, unknown_model
from api.errors import ApiError, error_body
from api.openai_reply import choices_of, completion_body, first_problem
from api.openai_schemas import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, parse_openai
from api.openai_shapes import Shaper
from api.services import Services
from app.batches.executor import Refused, Reply
from app.batches.record import LineIds
from app.errors import InvalidRequestError, ModelNotFoundError, ModelUnavailableError, OverloadedError
from app.jobs.record import TERMINAL
from app.jobs.submit import CachePolicy, SubmitService, events_source

OpenAIRequest = ChatCompletionRequest | CompletionRequest
BATCH_PRIORITY = 9  # the lowest: every interactive job runs first, at the queue and in the engine
NOT_PER_LINE = ("stream", "stream_options")  # a batch line is answered whole


class BatchLines:
    def __init__(self, svc: Services, embeddings: Embeddings) -> None:
        self.svc = svc
        self.embeddings = embeddings

    def model_error(self, endpoint: str, model: str, tenant: str) -> str | None:
        if endpoint == "/v1/embeddings":
            return unknown_model(model)
        try:
            self.svc.models.service_for(model, may_queue=True, tenant=tenant)
        except ModelNotFoundError as exc:
            return str(exc)
        return None

    def start(self, endpoint: str, body: dict[str, Any], tenant: str, job_id: LineIds) -> list[str] | Reply:
        body = {k: v for k, v in body.items() if k not in NOT_PER_LINE}
        try:
            if endpoint == "/v1/embeddings":
                answer = self.embeddings.embed(parse_openai(EmbeddingRequest, body))
                return Reply(200, answer, "req_" + job_id(0).replace("-", ""), prompt_tokens=answer["usage"]["prompt_tokens"])
            parsed, submitter = self._parse(endpoint, body, may_queue=False, tenant=tenant)
            requests = parsed.to_jobs(max_tokens=self.svc.config.api.max_tokens)
        except ModelUnavailableError as exc:
            raise Refused(str(exc)) from None
        except (InvalidRequestError, ApiError, ModelNotFoundError) as exc:
            return Reply(*_problem(exc), request_id="req_" + job_id(0).replace("-", ""))
        ids = []
        for index, job_request in enumerate(requests):
            jid = job_id(index)
            ids.append(jid)
            if self.svc.jobs.exists(jid):
                continue  # submitted before the feeder that did it could record it
            try:
                submitter.submit(
                    job_request.model_copy(update={"priority": BATCH_PRIORITY}), tenant, CachePolicy(), job_id=jid, batch_id=job_id.batch_id
                )
            except InvalidRequestError as exc:  # e.g. a prompt too long for the context: the line's own 400
                self.cancel(ids[:-1])
                return Reply(*_problem(exc), request_id="req_" + job_id(0).replace("-", ""))
            except (OverloadedError, redis.RedisError, kombu.exceptions.OperationalError) as exc:
                raise Refused(str(exc)) from None
        return ids

    def reply(self, endpoint: str, body: Callable[[], dict[str, Any]], job_ids: list[str]) -> Reply | None | str:
        records = [self.svc.jobs.get(jid) for jid in job_ids]
        if any(record is None for record in records):
            return "missing"
        if any(record["status"] not in TERMINAL for record in records):
            return None
        request_id = "req_" + job_ids[0].replace("-", "")
        if any(record["status"] == "cancelled" for record in records):
            return Reply(499, error_body("cancelled", "the batch was cancelled or expired first"), request_id)
        kind = "chat" if endpoint == "/v1/chat/completions" else "text"
        line = {k: v for k, v in body().items() if k not in NOT_PER_LINE}
        parsed, submitter = self._parse(endpoint, line, may_queue=True)
        requests = parsed.to_jobs(max_tokens=self.svc.config.api.max_tokens)
        choices = choices_of(parsed, requests, kind)
        for choice, record in zip(choices, records, strict=True):
            for event in self.svc.events.read(events_source(record)):
                choice.add(event)
        echo_logprobs = kind == "text" and bool(getattr(parsed, "echo", False)) and parsed.wants_logprobs
        problem = first_problem(parsed, choices, echo_logprobs)
        if problem is not None:
            return Reply(problem[0], problem[1], request_id)
        prompt_ids = [submitter.prompts.token_ids(r) if echo_logprobs else [] for r in requests]
        response_id = ("chatcmpl-" if kind == "chat" else "cmpl-") + job_ids[0]
        shaper, created = Shaper(submitter.prompts.tokenizer), int(records[0]["created_at"])
        answer = completion_body(response_id=response_id, created=created, model=submitter.reply_model, kind=kind,
                                 body=parsed, choices=choices, shaper=shaper, prompt_ids=prompt_ids)  # fmt: skip
        usage = answer["usage"]
        return Reply(200, answer, request_id, prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"])

    def cancel(self, job_ids: list[str]) -> None:
        for jid in job_ids:
            self.svc.jobs.cancel(jid)

    def load(self, model: str) -> tuple[int, int]:
        """(slots of the live workers serving ``model``, its queued + running jobs): what the batch's pace reads."""
        name = self.svc.models.base_name(model)  # an adapter's lines run on its parent's workers
        served = self.svc.catalog.serving().get(name)
        return (served.slots if served else 0), int(self.svc.jobs.redis.zcard(self.svc.jobs.model_keys.jobs(name)))

    def _parse(
        self, endpoint: str, body: dict[str, Any], *, may_queue: bool, tenant: str | None = None
    ) -> tuple[ChatCompletionRequest | CompletionRequest, SubmitService]:
        parsed = parse_openai(ChatCompletionRequest if endpoint == "/v1/chat/completions" else CompletionRequest, body)
        if tenant is None:  # replying: the lines were accepted, read the model as any tenant's
            return parsed, self.svc.models.reply_service(parsed.model)
        return parsed, self.svc.models.service_for(parsed.model, may_queue=may_queue, tenant=tenant)


def _problem(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The status and body the online routes answer for ``exc`` (api/errors.py's handlers)."""
    if isinstance(exc, ApiError):
        return exc.status, error_body(exc.type, str(exc), exc.param, exc.code)
    if isinstance(exc, ModelNotFoundError):
        return 404, error_body("invalid_request_error", str(exc), "model", "model_not_found")
    assert isinstance(exc, InvalidRequestError)
    return 400, error_body("invalid_request_error", str(exc), exc.field)
