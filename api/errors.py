"""Every error leaves the API as JSON: ``{"error": {"type": ..., "message": ...}}``."""

from __future__ import annotations

import logging

import kombu.exceptions
import redis
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from app.errors import (
    ConflictError,
    InvalidRequestError,
    ModelNotFoundError,
    ModelUnavailableError,
    NotFoundError,
    OverloadedError,
    TooLargeError,
)

log = logging.getLogger(__name__)

REDIS_RETRY_AFTER_S = 2  # a Redis restart from its AOF takes about this long for a small data set


def error_body(type_: str, message: str, param: str | None = None, code: str | None = None) -> dict:
    """The one error shape, which is also OpenAI's: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(status: int, type_: str, message: str, param: str | None = None, code: str | None = None):
    return jsonify(error_body(type_, message, param, code)), status


class ApiError(Exception):
    """An error answer that needs more than a status and a message (e.g. OpenAI's ``code``)."""

    def __init__(self, status: int, type_: str, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.type, self.param, self.code = status, type_, param, code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.type, str(exc), exc.param, exc.code)

    @app.errorhandler(OverloadedError)
    def _overloaded(exc: OverloadedError):
        # OpenAI's status for "slow down": its official client waits Retry-After and retries.
        response = error_response(429, "rate_limit_error", str(exc), code=exc.reason)
        response[0].headers.update({**exc.headers, "Retry-After": str(exc.retry_after_s)})
        return response

    @app.errorhandler(ModelNotFoundError)
    def _no_such_model(exc: ModelNotFoundError):
        return error_response(404, "invalid_request_error", str(exc), param="model", code="model_not_found")

    @app.errorhandler(ModelUnavailableError)
    def _model_unavailable(exc: ModelUnavailableError):
        # 503 + Retry-After: the official openai client retries it by itself, as for a Redis outage.
        response = error_response(503, "service_unavailable", str(exc), param="model", code="model_unavailable")
        response[0].headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.errorhandler(NotFoundError)
    def _not_found(exc: NotFoundError):
        return error_response(404, "invalid_request_error", str(exc), exc.param)

    @app.errorhandler(ConflictError)
    def _conflict(exc: ConflictError):
        return error_response(409, "conflict", str(exc))

    @app.errorhandler(TooLargeError)
    def _too_large_upload(exc: TooLargeError):
        return error_response(413, "invalid_request_error", str(exc), exc.field, exc.code)

    @app.errorhandler(InvalidRequestError)
    def _invalid(exc: InvalidRequestError):
        return error_response(400, "invalid_request_error", str(exc), exc.field)

    @app.errorhandler(413)
    def _too_large(exc: HTTPException):
        limit = request.max_content_length
        what = "LLMJOBS_MAX_BODY_BYTES" if limit == app.config["MAX_CONTENT_LENGTH"] else "this route's limit"
        return error_response(413, "request_too_large", f"the request body is larger than {what} ({limit} bytes)")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        type_ = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(exc.code or 500, type_, exc.description or exc.name)
        if exc.code == 401:
            response[0].headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.errorhandler(redis.RedisError)
    @app.errorhandler(kombu.exceptions.OperationalError)
    def _backend_down(exc: Exception):
        log.warning("backend unavailable: %s", exc)
        response = error_response(503, "service_unavailable", "the job store (Redis) is unreachable; try again shortly")
        response[0].headers["Retry-After"] = str(REDIS_RETRY_AFTER_S)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Last resort so a bug never leaks a traceback or an HTML page to a client.
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; the server log has the details")
