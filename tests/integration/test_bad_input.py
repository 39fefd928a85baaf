"""Every bad request gets a 4xx with a JSON error naming what was wrong, and stores nothing."""

import json

import pytest


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert error["type"] and error["message"]
    assert "Traceback" not in error["message"]
    return error


BAD_BODIES = [
    ({"messages": []}, "messages"),
    ({}, "body"),
    ({"max_tokens": 5}, "body"),
    ({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, "body"),
    ({"prompt": "hi", "colour": "blue"}, "colour"),
    ({"prompt": 42}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": ["a", "b"]}, "prompt"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
    ({"messages": [{"role": "user"}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": "hi", "name": "x"}]}, "messages.0.name"),
    ({"prompt": "hi", "max_tokens": 0}, "max_tokens"),
    ({"prompt": "hi", "max_tokens": 513}, "max_tokens"),
    ({"prompt": "hi", "max_tokens": "12"}, "max_tokens"),
    ({"prompt": "hi", "max_tokens": 1.5}, "max_tokens"),
    ({"prompt": "hi", "temperature": -0.1}, "temperature"),
    ({"prompt": "hi", "temperature": 2.01}, "temperature"),
    ({"prompt": "hi", "temperature": "hot"}, "temperature"),
    ({"prompt": "hi", "top_p": 0}, "top_p"),
    ({"prompt": "hi", "top_p": 1.5}, "top_p"),
    ({"prompt": "hi", "top_k": -1}, "top_k"),
    ({"prompt": "hi", "stop": 7}, "stop"),
    ({"prompt": "hi", "stop": ["a", "b", "c", "d", "e"]}, "body"),
    ({"prompt": "hi", "stop": [""]}, "body"),
    ({"prompt": "hi", "seed": -1}, "seed"),
    ({"prompt": "hi", "seed": True}, "seed"),
    ({"messages": [{"role": "user", "content": "hi"}], "raw": True}, "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=[json.dumps(b)[:60] for b, _ in BAD_BODIES])
def test_invalid_body_is_a_400_naming_the_field(client, job_store, body, field):
    before = job_store.redis.zcard(job_store.keys.queued)
    error = error_of(client.post("/v1/jobs", json=body), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == field
    assert job_store.redis.zcard(job_store.keys.queued) == before


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b"{not json", "application/json", "valid JSON"),
        (b"", "application/json", "empty"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b'"just a string"', "application/json", "JSON object"),
        (b"\xff\xfe\x00garbage", "application/octet-stream", "valid JSON"),
    ],
)
def test_malformed_body_is_a_400(client, data, content_type, message):
    error = error_of(client.post("/v1/jobs", data=data, content_type=content_type), 400)
    assert message in error["message"]


def test_prompt_longer_than_the_context_is_a_400(client, config):
    prompt = "word " * 9000  # ~9,000 tokens against SmolLM2's 8,192
    error = error_of(client.post("/v1/jobs", json={"prompt": prompt, "max_tokens": 16}), 400)
    assert error["param"] == "prompt"
    assert "context" in error["message"]


def test_prompt_that_fits_only_without_max_tokens_is_a_400(client):
    prompt = "word " * 7900
    assert client.post("/v1/jobs", json={"prompt": prompt, "max_tokens": 500}).status_code == 400


def test_body_over_the_limit_is_a_413(client, config):
    big = json.dumps({"prompt": "a" * (config.api.max_body_bytes + 10)})
    error = error_of(client.post("/v1/jobs", data=big, content_type="application/json"), 413)
    assert "LLMJOBS_MAX_BODY_BYTES" in error["message"]


@pytest.mark.parametrize("job_id", ["nope", "00000000-0000-0000-0000-000000000000", "4b3a1f0e-3c1d-4f5e-9a7b-2c8d9e0f1a2b"])
def test_unknown_job_is_a_404(client, job_id):
    error = error_of(client.get(f"/v1/jobs/{job_id}"), 404)
    assert job_id in error["message"]


def test_wrong_method_and_route_are_json(client, france):
    error_of(client.put("/v1/jobs", json={"prompt": france}), 405)
    error_of(client.get("/v1/nothing-here"), 404)
