"""Mapping OpenAI request bodies onto job requests (pure logic)."""

import pytest

from api.openai_schemas import ChatCompletionRequest, CompletionRequest, parse_openai
from app.errors import InvalidRequestError


def chat(**extra):
    body = {
        "model": "m",
        "messages": [{"role": "developer", "content": [{"type": "text", "text": "be brief"}]}, {"role": "user", "content": "hi"}],
    }
    return parse_openai(ChatCompletionRequest, {**body, **extra})


def test_chat_maps_messages_and_sampling():
    job = chat(max_completion_tokens=9, max_tokens=5, temperature=0.5, stop="x", seed=3).to_job(max_tokens=100)
    assert [m.model_dump() for m in job.messages] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert job.max_tokens == 9 and job.temperature == 0.5 and job.stop == ["x"] and job.seed == 3


def test_completion_is_raw():
    job = parse_openai(CompletionRequest, {"model": "m", "prompt": ["once"], "max_tokens": 3}).to_job(max_tokens=100)
    assert job.prompt == "once" and job.raw and job.max_tokens == 3


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 3}, "n"),
        ({"tools": []}, "tools"),
        ({"presence_penalty": 1}, "presence_penalty"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"max_tokens": 101}, "max_tokens"),
    ],
)
def test_unsupported(extra, param):
    with pytest.raises(InvalidRequestError) as info:
        chat(**extra).to_job(max_tokens=100)
    assert info.value.field == param


def test_several_prompts_are_refused():
    with pytest.raises(InvalidRequestError):
        parse_openai(CompletionRequest, {"model": "m", "prompt": ["a", "b"]}).to_job(max_tokens=100)
