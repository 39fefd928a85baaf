"""A batch's OpenAI object from its hash, and the ids that make a re-run line land on the same job."""

from __future__ import annotations

from app.batches.record import line_job_id, request_id, view


def test_the_view_is_openais_batch_object():
    fields = {"id": "batch_1", "endpoint": "/v1/chat/completions", "input_file_id": "file-1", "completion_window": "24h",
              "status": "in_progress", "created_at": "100.5", "expires_at": "86500.5", "in_progress_at": "101.0", "total": "3",
              "completed": "1", "failed": "1", "prompt_tokens": "10", "completion_tokens": "5", "metadata": '{"k": "v"}'}  # fmt: skip
    batch = view(fields)
    assert batch["object"] == "batch" and batch["created_at"] == 100 and batch["in_progress_at"] == 101 and batch["completed_at"] is None
    assert batch["request_counts"] == {"total": 3, "completed": 1, "failed": 1}
    assert batch["usage"]["total_tokens"] == 15 and batch["metadata"] == {"k": "v"} and batch["errors"] is None
    failed = view({**fields, "status": "failed", "errors": '[{"code": "x", "line": 2}]'})
    assert failed["errors"] == {"object": "list", "data": [{"code": "x", "line": 2}]}


def test_a_lines_ids_are_fixed_by_its_batch_and_number():
    assert line_job_id("batch_1", 3, 0) == line_job_id("batch_1", 3, 0)
    assert (
        len({line_job_id("batch_1", 3, 0), line_job_id("batch_1", 3, 1), line_job_id("batch_1", 4, 0), line_job_id("batch_2", 3, 0)}) == 4
    )
    assert request_id("batch_1", 3).startswith("batch_req_") and request_id("batch_1", 3) != request_id("batch_1", 4)
