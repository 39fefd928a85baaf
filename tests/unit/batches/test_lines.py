"""Checking a batch's input lines, and the output and error lines' shape (OpenAI's)."""

from __future__ import annotations

import json

from app.batches.lines import check_lines, not_run_line, output_line

ENDPOINT = "/v1/chat/completions"


def line(custom_id="a", url=ENDPOINT, model="m", **extra) -> bytes:
    item = {"custom_id": custom_id, "method": "POST", "url": url, "body": {"model": model, "messages": []}, **extra}
    return (json.dumps(item) + "\n").encode()


def known(model: str) -> str | None:
    return None if model == "m" else f"The model `{model}` does not exist."


def test_a_valid_file_counts_its_requests_and_skips_blank_lines():
    checked = check_lines([line("a"), b"\n", line("b"), b"   \n"], ENDPOINT, known, 10)
    assert (checked.total, checked.model, checked.errors) == (2, "m", [])


def test_each_problem_is_reported_with_its_line_number():
    raw = [line("a"), b"{oops\n", b"[1]\n", json.dumps({"url": ENDPOINT, "body": {}}).encode(), line("a"), line("c", url="/v1/completions"),
           line("d", model="nope"), line("e", method="GET"), json.dumps({"custom_id": "f", "url": ENDPOINT}).encode(),
           json.dumps({"custom_id": "g", "url": ENDPOINT, "body": {"messages": []}}).encode()]  # fmt: skip
    checked = check_lines(raw, ENDPOINT, known, 100)
    assert [(e["line"], e["code"]) for e in checked.errors] == [
        (2, "invalid_json_line"), (3, "invalid_json_line"), (4, "missing_required_parameter"), (5, "duplicate_custom_id"),
        (6, "mismatched_endpoint"), (7, "model_not_found"), (8, "invalid_value"), (9, "invalid_value"), (10, "missing_required_parameter"),
    ]  # fmt: skip
    assert checked.errors[5]["message"] == "The model `nope` does not exist." and checked.errors[5]["param"] == "body.model"


def test_an_empty_file_and_one_over_the_limit_fail_without_a_line():
    assert [e["code"] for e in check_lines([b"\n"], ENDPOINT, known, 10).errors] == ["empty_file"]
    over = check_lines([line(str(i)) for i in range(3)], ENDPOINT, known, 2)
    assert [(e["code"], e["line"]) for e in over.errors] == [("too_many_requests", None)]


def test_output_and_not_run_lines_have_openais_fields():
    out = json.loads(output_line("batch_req_1", "a", 200, "req_1", {"x": 1}))
    assert out == {"id": "batch_req_1", "custom_id": "a", "response": {"status_code": 200, "request_id": "req_1", "body": {"x": 1}},
                   "error": None}  # fmt: skip
    expired = json.loads(not_run_line("batch_req_2", "b", "batch_expired"))
    assert expired["response"] is None and expired["error"]["code"] == "batch_expired" and expired["error"]["message"]
