"""The official openai client against our server."""

import json
import time
import uuid

import httpx
import openai
import pytest

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(scope="module")
def client(api_url):
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def model(client):
    return client.models.list().data[0].id


def test_chat_completion(client, model, france):
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": france}], temperature=0)
    assert "Paris" in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.object == "chat.completion" and reply.model == model


def test_chat_completion_stream_with_usage(client, model, france):
    chunks = list(
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": france}], temperature=0, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage.completion_tokens > 0


def test_text_completion(client, model):
    reply = client.completions.create(model=model, prompt="The capital of France is", temperature=0, max_tokens=4)
    assert "Paris" in reply.choices[0].text
    assert reply.usage.completion_tokens == 4 and reply.choices[0].finish_reason == "length"


def test_text_completion_stream(client, model):
    chunks = list(client.completions.create(model=model, prompt="The capital of France is", temperature=0, max_tokens=4, stream=True))
    assert "Paris" in "".join(c.choices[0].text for c in chunks)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 17}, "n"),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}},
            "tool_choice",
        ),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"response_format": {"type": "xml"}}, "response_format.type"),
        ({"temperature": 3}, "temperature"),
        ({"frequency_penalty": 2.5}, "frequency_penalty"),
    ],
)
def test_unsupported_fields_are_a_400(client, model, extra, param):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], **extra)
    assert info.value.body["param"] == param


def test_unknown_model_is_a_404(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["code"] == "model_not_found"


def job_whose_events_name(live, job_store, marker: str, timeout: float = 30) -> str:
    """The id of the job whose request contains ``marker``, from the first event it publishes on
    ``live`` (a pub/sub connection subscribed to every job's events before the job was submitted)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = live.get_message(timeout=left)
        if message is None or message["type"] != "pmessage":
            continue
        job_id = message["channel"].rsplit(":", 1)[1]
        record = job_store.get(job_id)
        if record is not None and marker in json.dumps(record["request"]):
            return job_id
    raise AssertionError(f"no job with {marker!r} in its request published an event within {timeout:g} s")


@pytest.mark.parametrize("stream", [False, True])
def test_client_that_disconnects_cancels_its_job(api_url, job_store, stream, wait_for_job):
    story = f"Write a very long story about dragons. ({uuid.uuid4().hex[:8]})"
    body = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": story}], "max_tokens": 400, "stream": stream}
    live = job_store.redis.pubsub()
    live.psubscribe(job_store.keys.events("*"))  # before submitting: the job's first event names it
    try:
        with httpx.Client(base_url=api_url, timeout=1.5) as http:
            try:
                with http.stream("POST", "/v1/chat/completions", json=body) as response:
                    job_id = response.headers["X-Job-Id"] if stream else None
                    for _ in response.iter_lines():
                        break
            except httpx.ReadTimeout:
                job_id = None
        if job_id is None:  # a non-streaming answer sends no headers before it ends: find the job by its events
            job_id = job_whose_events_name(live, job_store, story)
    finally:
        live.close()
    job = wait_for_job(job_store.get, job_id, timeout=10)
    assert job["status"] == "cancelled"
    assert job["usage"] is None or job["usage"]["completion_tokens"] < 400
