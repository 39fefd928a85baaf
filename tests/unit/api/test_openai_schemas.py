"""Mapping OpenAI request bodies onto job requests, one per choice (pure logic)."""

import pytest

from api.openai_schemas import ChatCompletionRequest, CompletionRequest, parse_openai
from app.errors import InvalidRequestError


def chat(**extra):
    body = {
        "model": "m",
        "messages": [{"role": "developer", "content": [{"type": "text", "text": "be brief"}]}, {"role": "user", "content": "hi"}],
    }
    return parse_openai(ChatCompletionRequest, {**body, **extra})


def completion(**extra):
    return parse_openai(CompletionRequest, {"model": "m", "prompt": "once", **extra})


def test_chat_maps_messages_and_sampling():
    [job] = chat(max_completion_tokens=9, max_tokens=5, temperature=0.5, stop="x", seed=3).to_jobs(max_tokens=100)
    assert [m.model_dump(exclude_none=True) for m in job.messages] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert job.max_tokens == 9 and job.temperature == 0.5 and job.stop == ["x"] and job.seed == 3


def test_completion_is_raw():
    [job] = parse_openai(CompletionRequest, {"model": "m", "prompt": ["once"], "max_tokens": 3}).to_jobs(max_tokens=100)
    assert job.prompt == "once" and job.raw and job.max_tokens == 3


def test_vllm_extensions_reach_the_sampling_parameters():
    extensions = {"min_tokens": 2, "repetition_penalty": 1.3, "presence_penalty": 0.5, "frequency_penalty": -0.5,
                  "skip_special_tokens": False, "include_stop_str_in_output": True}  # fmt: skip
    [job] = chat(user="someone", max_tokens=8, **extensions).to_jobs(max_tokens=100)
    assert {k: job.sampling(16)[k] for k in extensions} == extensions


def test_default_extensions_leave_the_sampling_dict_as_it_was():
    """The result cache's keys are made from it: a request that uses no extension keeps its old key."""
    [job] = chat(temperature=0).to_jobs(max_tokens=100)
    assert set(job.sampling(16)) == {"max_tokens", "temperature", "top_p", "top_k", "stop", "seed", "ignore_eos"}


def test_continuous_usage_stats_is_accepted_with_stream():
    body = chat(stream=True, stream_options={"include_usage": True, "continuous_usage_stats": True})
    assert body.stream_options.continuous_usage_stats and len(body.to_jobs(max_tokens=100)) == 1


def test_n_choices_are_n_jobs_with_consecutive_seeds_and_no_cache():
    jobs = chat(n=3, seed=7, temperature=1.0).to_jobs(max_tokens=100)
    assert [job.seed for job in jobs] == [7, 8, 9] and not any(job.cache for job in jobs)


def test_several_prompts_times_n_in_openai_order():
    jobs = completion(prompt=["a", "b"], n=2).to_jobs(max_tokens=100)
    assert [job.prompt for job in jobs] == ["a", "a", "b", "b"]


def test_chat_logprobs_ask_the_engine_for_top_alternatives_and_skip_the_cache():
    [job] = chat(logprobs=True, top_logprobs=3).to_jobs(max_tokens=100)
    assert job.logprobs == 3 and job.prompt_logprobs is None and not job.cache


def test_echo_with_logprobs_asks_for_prompt_logprobs():
    [job] = completion(echo=True, logprobs=1, max_tokens=1).to_jobs(max_tokens=100)
    assert job.logprobs == 1 and job.prompt_logprobs == 1


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 17}, "n"),
        ({"tools": [{"type": "function"}]}, "tools.0"),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}},
            "tool_choice",
        ),
        ({"guided_regex": "(a"}, "guided_regex"),
        ({"guided_choice": []}, "guided_choice"),
        ({"guided_json": {"type": "array", "uniqueItems": True}}, "guided_json"),
        ({"response_format": {"type": "json_object"}, "guided_regex": "a+"}, "guided_regex"),
        ({"structured_outputs": {"xml": "<a/>"}}, "structured_outputs.xml"),
        ({"presence_penalty": 3}, "presence_penalty"),
        ({"repetition_penalty": 0}, "repetition_penalty"),
        ({"min_tokens": 9, "max_tokens": 4}, "body"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"top_logprobs": 21, "logprobs": True}, "top_logprobs"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"stream_options": {"include_usage": True, "surprise": 1}, "stream": True}, "stream_options.surprise"),
        ({"max_tokens": 101}, "max_tokens"),
        ({"response_format": {"type": "xml"}}, "response_format.type"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format.json_schema"),
    ],
)
def test_unsupported_or_invalid(extra, param):
    with pytest.raises(InvalidRequestError) as info:
        chat(**extra).to_jobs(max_tokens=100)
    assert info.value.field == param


@pytest.mark.parametrize(
    ("extra", "param"), [({"suffix": "x"}, "suffix"), ({"best_of": 3}, "best_of"), ({"prompt": ["a"] * 9, "n": 2}, "n")]
)
def test_completion_fields_not_implemented(extra, param):
    with pytest.raises(InvalidRequestError) as info:
        completion(**extra).to_jobs(max_tokens=100)
    assert info.value.field == param
