"""The lines of a batch: checking an input file, and the output and error lines in OpenAI's shape.

An input line is ``{"custom_id", "method": "POST", "url", "body"}``. An output line is
``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`` (``error`` null);
a line that never ran (the batch expired or was cancelled first) has ``response`` null and an
``error`` of ``{"code", "message"}``, as OpenAI writes them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_ERRORS = 100  # validation errors reported at most (OpenAI reports the first ones too)
YIELD_EVERY = 512  # lines between yields to the API process's other greenlets while checking a large file
NOT_RUN = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "This request was not executed: the batch was cancelled first.",
}


@dataclass
class Checked:
    total: int = 0  # requests (non-blank lines)
    model: str | None = None  # the first line's
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, code: str, message: str, line: int | None, param: str | None = None) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"code": code, "message": message, "param": param, "line": line})


def check_lines(raw_lines: Iterable[bytes], endpoint: str, model_error: Callable[[str], str | None], max_lines: int) -> Checked:
    """Check every line of an input file for ``endpoint``; ``model_error(model)`` says why a model is
    unknown (None: known). Lines are numbered from 1, as OpenAI numbers them."""
    checked, seen = Checked(), set()
    for number, raw in enumerate(raw_lines, start=1):
        if number % YIELD_EVERY == 0:
            time.sleep(0)  # under gevent: let the process serve its requests meanwhile
        if not raw.strip():
            continue
        checked.total += 1
        problem = line_problem(raw, endpoint, seen, model_error)
        if problem is not None:
            code, message, param = problem
            checked.fail(code, message, number, param)
        elif checked.model is None:
            checked.model = json.loads(raw)["body"]["model"]
    if checked.total == 0:
        checked.fail("empty_file", "The input file has no requests.", None)
    elif checked.total > max_lines:
        checked.fail("too_many_requests", f"The input file has {checked.total} requests; a batch takes at most {max_lines}.", None)
    return checked


def line_problem(raw: bytes, endpoint: str, seen: set[str], model_error: Callable[[str], str | None]) -> tuple[str, str, str | None] | None:
    """(code, message, param) of what makes one line unusable, or None."""
    try:
        item = json.loads(raw)
    except ValueError:
        return "invalid_json_line", "This line is not parseable as valid JSON.", None
    if not isinstance(item, dict):
        return "invalid_json_line", "This line is not a JSON object.", None
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return "missing_required_parameter", "Missing required parameter: 'custom_id' (a non-empty string).", "custom_id"
    if custom_id in seen:
        return "duplicate_custom_id", f"The custom_id {custom_id!r} appears on more than one line; each must be unique.", "custom_id"
    seen.add(custom_id)
    if item.get("method", "POST") != "POST":
        return "invalid_value", f"Invalid method {item.get('method')!r}: batch requests use 'POST'.", "method"
    if item.get("url") != endpoint:
        return "mismatched_endpoint", f"The url {item.get('url')!r} does not match the batch's endpoint {endpoint!r}.", "url"
    body = item.get("body")
    if not isinstance(body, dict):
        return "invalid_value", "Missing or invalid 'body': a JSON object (the request's body).", "body"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "missing_required_parameter", "Missing required parameter: 'body.model'.", "body.model"
    unknown = model_error(model)
    if unknown is not None:
        return "model_not_found", unknown, "body.model"
    return None


def output_line(request_id: str, custom_id: str, status_code: int, response_request_id: str, body: dict[str, Any]) -> bytes:
    line = {
        "id": request_id,
        "custom_id": custom_id,
        "response": {"status_code": status_code, "request_id": response_request_id, "body": body},
        "error": None,
    }
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"


def not_run_line(request_id: str, custom_id: str, code: str) -> bytes:
    line = {"id": request_id, "custom_id": custom_id, "response": None, "error": {"code": code, "message": NOT_RUN[code]}}
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"
