"""OpenAI's Files and Batch API, driven by the official `openai` client, unmodified, against the real
stack: upload, create, poll, download the output and error files, list, cancel; validation; expiry."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.helpers.waiting import wait_until

MODEL = "smollm2-135m-instruct"
ENDED = ("completed", "failed", "expired", "cancelled")


@pytest.fixture(scope="module")
def client(api_url, worker) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key="unused", max_retries=0)


def chat_line(custom_id: str, question: str, **body) -> dict:
    body = {"model": MODEL, "messages": [{"role": "user", "content": question}], "max_tokens": 16, "temperature": 0, **body}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def upload(client: openai.OpenAI, tmp_path: Path, lines: list, name: str = "input.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    with path.open("rb") as source:
        return client.files.create(file=source, purpose="batch").id


def wait_ended(client: openai.OpenAI, batch_id: str, timeout: float = 240):
    def ended():
        batch = client.batches.retrieve(batch_id)
        return batch if batch.status in ENDED else None

    return wait_until(ended, timeout, what=lambda: f"batch {batch_id} to end: {client.batches.retrieve(batch_id)}", interval=0.5)


def lines_of(client: openai.OpenAI, file_id: str | None) -> list[dict]:
    return [] if file_id is None else [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def test_openai_client_runs_a_batch_end_to_end(client, france, tmp_path, http):
    lines = [chat_line("france", france), chat_line("color", "Name a color."), chat_line("hi", "Say hi.", max_tokens=8),
             chat_line("bad", "Hello", max_tokens=-3)]  # fmt: skip
    input_id = upload(client, tmp_path, lines)
    created = client.batches.create(input_file_id=input_id, endpoint="/v1/chat/completions", completion_window="24h",
                                    metadata={"team": "nlp"})  # fmt: skip
    assert created.status == "validating" and created.metadata == {"team": "nlp"}
    batch = wait_ended(client, created.id)
    assert batch.status == "completed", batch
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (4, 3, 1)
    assert batch.in_progress_at and batch.finalizing_at and batch.completed_at and batch.created_at <= batch.in_progress_at
    outputs, errors = lines_of(client, batch.output_file_id), lines_of(client, batch.error_file_id)
    assert sorted(line["custom_id"] for line in outputs) == ["color", "france", "hi"]
    by_id = {line["custom_id"]: line for line in outputs}
    france_line = by_id["france"]
    assert france_line["id"].startswith("batch_req_") and france_line["error"] is None
    assert france_line["response"]["status_code"] == 200 and france_line["response"]["request_id"]
    answer = france_line["response"]["body"]
    assert answer["object"] == "chat.completion" and answer["choices"][0]["message"]["content"] == "The capital of France is Paris."
    # the same request online answers the same body, but for its id and time
    online = http.post("/v1/chat/completions", json=lines[0]["body"]).json()
    assert {k: v for k, v in answer.items() if k not in ("id", "created")} == {
        k: v for k, v in online.items() if k not in ("id", "created")
    }
    assert [line["custom_id"] for line in errors] == ["bad"]
    bad = errors[0]["response"]
    assert bad["status_code"] == 400
    assert bad["body"] == http.post("/v1/chat/completions", json=lines[3]["body"]).json()  # the 400 the same request gets online
    assert batch.usage.output_tokens == sum(by_id[c]["response"]["body"]["usage"]["completion_tokens"] for c in by_id)
    # the files are listed, and so is the batch
    listed = client.files.list()
    assert {input_id, batch.output_file_id, batch.error_file_id} <= {f.id for f in listed.data}
    assert client.files.retrieve(batch.output_file_id).purpose == "batch_output"
    assert created.id in [b.id for b in client.batches.list(limit=100).data]
    # (the line counters count in whichever process's runner collected the lines: the tests' in-process apps share this Redis)
    assert "llmjobs_batches_active" in http.get("/metrics").text


def test_text_completions_and_embeddings_batches(client, tmp_path):
    prompts = ["Once upon", "1, 2, 3,"]
    text = [{"custom_id": f"t{i}", "method": "POST", "url": "/v1/completions",
             "body": {"model": MODEL, "prompt": p, "max_tokens": 6, "temperature": 0}} for i, p in enumerate(prompts)]  # fmt: skip
    embed = [{"custom_id": "e0", "method": "POST", "url": "/v1/embeddings", "body": {"model": "all-MiniLM-L6-v2", "input": "hello"}}]
    text_batch = client.batches.create(input_file_id=upload(client, tmp_path, text, "text.jsonl"), endpoint="/v1/completions",
                                       completion_window="24h")  # fmt: skip
    embed_batch = client.batches.create(input_file_id=upload(client, tmp_path, embed, "embed.jsonl"), endpoint="/v1/embeddings",
                                        completion_window="24h")  # fmt: skip
    text_done, embed_done = wait_ended(client, text_batch.id), wait_ended(client, embed_batch.id)
    assert text_done.status == "completed" and text_done.request_counts.completed == 2
    bodies = [line["response"]["body"] for line in lines_of(client, text_done.output_file_id)]
    assert all(body["object"] == "text_completion" and body["choices"][0]["text"] for body in bodies)
    assert embed_done.status == "completed"
    (vector_line,) = lines_of(client, embed_done.output_file_id)
    assert len(vector_line["response"]["body"]["data"][0]["embedding"]) == 384


def test_validation_fails_the_batch_with_each_line_number(client, tmp_path):
    lines = [chat_line("ok", "Hi"), "{not json", {"method": "POST", "url": "/v1/chat/completions", "body": {"model": MODEL}},
             chat_line("ok", "Hi again"), {**chat_line("other", "Hi"), "url": "/v1/completions"},
             {**chat_line("nomodel", "Hi"), "body": {"model": "no-such-model", "messages": []}}]  # fmt: skip
    batch = client.batches.create(input_file_id=upload(client, tmp_path, lines), endpoint="/v1/chat/completions", completion_window="24h")
    batch = wait_ended(client, batch.id, timeout=30)
    assert batch.status == "failed" and batch.failed_at and batch.output_file_id is None
    found = [(error.line, error.code) for error in batch.errors.data]
    assert found == [(2, "invalid_json_line"), (3, "missing_required_parameter"), (4, "duplicate_custom_id"),
                     (5, "mismatched_endpoint"), (6, "model_not_found")]  # fmt: skip
    assert all(error.message for error in batch.errors.data)


def test_cancel_keeps_what_finished_and_accounts_for_every_line(client, tmp_path, france):
    lines = [chat_line(f"q{i}", f"Count from {i} to {i + 30}, one number per line.", max_tokens=48) for i in range(24)]
    batch = client.batches.create(input_file_id=upload(client, tmp_path, lines), endpoint="/v1/chat/completions", completion_window="24h")
    wait_until(lambda: client.batches.retrieve(batch.id).request_counts.completed >= 1, 180, what="a first line to finish")
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled")
    ended = wait_ended(client, batch.id, timeout=60)
    assert ended.status == "cancelled" and ended.cancelled_at and ended.cancelling_at
    outputs, errors = lines_of(client, ended.output_file_id), lines_of(client, ended.error_file_id)
    ids = [line["custom_id"] for line in outputs + errors]
    assert sorted(ids) == sorted(line["custom_id"] for line in lines)  # every line exactly once
    assert outputs and errors and all(line["error"]["code"] == "batch_cancelled" for line in errors)
    assert ended.request_counts.completed == len(outputs) and ended.request_counts.failed == len(errors)
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(ended.id) if ended.status != "cancelled" else _cancel_completed(client, tmp_path, france)


def _cancel_completed(client: openai.OpenAI, tmp_path: Path, france: str) -> None:
    batch = client.batches.create(input_file_id=upload(client, tmp_path, [chat_line("one", france)], "one.jsonl"),
                                  endpoint="/v1/chat/completions", completion_window="24h")  # fmt: skip
    assert wait_ended(client, batch.id).status == "completed"
    client.batches.cancel(batch.id)


def test_a_batch_past_its_window_expires_keeping_finished_lines(client, tmp_path, config):
    import redis

    lines = [chat_line(f"e{i}", f"Write a long story about the number {i}.", max_tokens=64) for i in range(30)]
    batch = client.batches.create(input_file_id=upload(client, tmp_path, lines), endpoint="/v1/chat/completions", completion_window="24h")
    wait_until(lambda: client.batches.retrieve(batch.id).request_counts.completed >= 1, 180, what="a first line to finish")
    # the 24 h window, brought forward to now (what a day of waiting would do)
    redis.Redis.from_url(config.redis.url).hset(f"{config.redis.key_prefix}:batch:{batch.id}", "expires_at", repr(time.time()))
    ended = wait_ended(client, batch.id, timeout=60)
    assert ended.status == "expired" and ended.expired_at
    outputs, errors = lines_of(client, ended.output_file_id), lines_of(client, ended.error_file_id)
    assert sorted(line["custom_id"] for line in outputs + errors) == sorted(line["custom_id"] for line in lines)
    assert outputs and all(line["response"]["status_code"] == 200 for line in outputs)
    assert errors and all(line["error"]["code"] == "batch_expired" and line["response"] is None for line in errors)


def test_file_routes_answer_bad_input_clearly(http, client, tmp_path):
    assert http.post("/v1/files", data={"purpose": "batch"}).status_code == 400  # no file
    refused = http.post("/v1/files", data={"purpose": "fine-tune"}, files={"file": ("a.jsonl", b"{}\n")})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "purpose"
    assert http.post("/v1/files", files={"file": ("a.jsonl", b"{}\n")}).status_code == 400  # no purpose
    assert http.post("/v1/files", data={"purpose": "batch"}, files={"file": ("a.jsonl", b"")}).status_code == 400  # empty
    expiry = {"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "5"}
    assert http.post("/v1/files", data=expiry, files={"file": ("a.jsonl", b"{}\n")}).status_code == 400
    for route in ("/v1/files/file-nope", "/v1/files/file-nope/content", "/v1/batches/batch_nope"):
        missing = http.get(route)
        assert missing.status_code == 404 and missing.json()["error"]["message"]
    assert http.post("/v1/batches", json={"input_file_id": "file-nope", "endpoint": "/v1/chat/completions",
                                          "completion_window": "24h"}).status_code == 404  # fmt: skip
    file_id = upload(client, tmp_path, [chat_line("a", "Hi")])
    for body in ({"input_file_id": file_id, "endpoint": "/v1/moderations", "completion_window": "24h"},
                 {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "1h"},
                 {"input_file_id": file_id, "endpoint": "/v1/chat/completions"}, [1, 2]):  # fmt: skip
        answer = http.post("/v1/batches", json=body)
        assert answer.status_code == 400 and answer.json()["error"]["message"], (body, answer.text)
    assert http.get("/v1/batches?limit=0").status_code == 400 and http.get("/v1/files?order=up").status_code == 400
    # the content is the upload, byte for byte; a deleted file is gone with its bytes
    assert client.files.content(file_id).text == json.dumps(chat_line("a", "Hi")) + "\n"
    assert client.files.delete(file_id).deleted is True
    assert http.get(f"/v1/files/{file_id}").status_code == 404


def test_a_file_an_active_batch_reads_cannot_be_deleted(client, tmp_path, http):
    file_id = upload(client, tmp_path, [chat_line(f"d{i}", "Tell me about rivers.", max_tokens=48) for i in range(4)])
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    answer = http.delete(f"/v1/files/{file_id}")
    assert answer.status_code == 409 and "batch" in answer.json()["error"]["message"]
    assert wait_ended(client, batch.id).status == "completed"
    assert http.delete(f"/v1/files/{file_id}").status_code == 200


def test_files_and_batches_belong_to_their_tenant_with_caps(stack_env, make_app, tmp_path):
    from app.config import load_config

    env = {**stack_env, "LLMJOBS_API_KEYS": "key-a:a,key-b:b", "LLMJOBS_TENANT_MAX_BATCHES": "1",
           "LLMJOBS_TENANT_MAX_FILE_BYTES": "4000", "LLMJOBS_FILES_DIR": str(tmp_path / "files")}  # fmt: skip
    app = make_app(load_config(env)).test_client()
    a, b = {"Authorization": "Bearer key-a"}, {"Authorization": "Bearer key-b"}
    content = (json.dumps(chat_line("x", "Hi")) + "\n").encode()

    def up(headers, data=content):
        return app.post("/v1/files", headers=headers, data={"purpose": "batch", "file": (__import__("io").BytesIO(data), "in.jsonl")})

    file_a = up(a).get_json()["id"]
    assert app.get(f"/v1/files/{file_a}", headers=b).status_code == 404
    assert app.get(f"/v1/files/{file_a}/content", headers=b).status_code == 404
    assert file_a not in [f["id"] for f in app.get("/v1/files", headers=b).get_json()["data"]]
    too_much = up(a, content * 40)
    assert too_much.status_code == 413 and "LLMJOBS_TENANT_MAX_FILE_BYTES" in too_much.get_json()["error"]["message"]
    body = {"input_file_id": file_a, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    assert app.post("/v1/batches", headers=b, json=body).status_code == 404  # another tenant's file
    first = app.post("/v1/batches", headers=a, json=body)
    assert first.status_code == 200
    second = app.post("/v1/batches", headers=a, json=body)
    assert second.status_code == 429 and second.get_json()["error"]["code"] == "batch_limit"
    batch_id = first.get_json()["id"]
    assert app.get(f"/v1/batches/{batch_id}", headers=b).status_code == 404
    assert app.post(f"/v1/batches/{batch_id}/cancel", headers=b).status_code == 404
    assert batch_id not in [x["id"] for x in app.get("/v1/batches", headers=b).get_json()["data"]]
    assert app.post(f"/v1/batches/{batch_id}/cancel", headers=a).get_json()["status"] in ("cancelling", "cancelled")
    assert httpx  # the module's own client is used by the other tests


def test_the_cli_runs_a_file_and_writes_its_results_beside_it(api_url, worker, stack_env, tmp_path, france):
    import subprocess
    import sys

    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps(chat_line("france", france)) + "\n" + json.dumps(chat_line("bad", "Hi", max_tokens=-3)) + "\n")
    done = subprocess.run([sys.executable, "-m", "app.cli", "batch", "run", str(path), "--wait", "--url", api_url], env=stack_env,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (output,) = [json.loads(line) for line in (tmp_path / "questions.output.jsonl").read_text().splitlines()]
    assert output["response"]["body"]["choices"][0]["message"]["content"] == "The capital of France is Paris."
    (error,) = [json.loads(line) for line in (tmp_path / "questions.errors.jsonl").read_text().splitlines()]
    assert error["custom_id"] == "bad" and error["response"]["status_code"] == 400
    assert "completed" in done.stdout
