"""Request validation rules (pure pydantic, no Redis)."""

import pytest

from app.errors import InvalidRequestError
from app.jobs.request import parse_job_request


def parse(**body):
    return parse_job_request(body, max_tokens=100)


def test_prompt_with_defaults():
    request = parse(prompt="hi")
    sampling = request.sampling(default_max_tokens=7)
    assert sampling["max_tokens"] == 7 and sampling["temperature"] == 1.0 and sampling["top_k"] == 0
    assert sampling["stop"] == [] and sampling["seed"] is None


def test_sampling_names_the_engine_fields():
    """Plain data the engine's SamplingParams takes as it is (the API never imports the engine)."""
    from app.engine.types import SamplingParams

    sampling = parse(prompt="hi", temperature=0.5, top_p=0.9, top_k=5, stop="x", seed=3, ignore_eos=True).sampling(default_max_tokens=7)
    params = SamplingParams(**{**sampling, "stop": tuple(sampling["stop"])})
    assert params == SamplingParams(max_tokens=7, temperature=0.5, top_p=0.9, top_k=5, stop=("x",), seed=3, ignore_eos=True)


def test_stop_string_or_list():
    assert parse(prompt="hi", stop="x").sampling(1)["stop"] == ["x"]
    assert parse(prompt="hi", stop=["x", "y"]).sampling(1)["stop"] == ["x", "y"]


def test_messages():
    request = parse(messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    assert [m.role for m in request.messages] == ["system", "user"]


def test_int_temperature_is_accepted():
    assert parse(prompt="hi", temperature=0).temperature == 0.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "hi", "max_tokens": 101}, "max_tokens"),
        ({"prompt": None}, "body"),
        ({"prompt": "hi", "temperature": None}, "temperature"),
        ({"prompt": "hi", "stop": ["ok", 3]}, "stop"),
    ],
)
def test_rejections_name_the_field(body, field):
    with pytest.raises(InvalidRequestError) as info:
        parse_job_request(body, max_tokens=100)
    assert info.value.field.split(".")[0] == field


def test_non_object_body():
    with pytest.raises(InvalidRequestError) as info:
        parse_job_request([1], max_tokens=100)
    assert info.value.field == "body"
