"""Structured outputs through the real stack and the official ``openai`` client: every answer validates against its
schema with ``jsonschema`` (never our code), streamed and not; guided choice and regex; forced tool calls."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import openai
import pytest

from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.usefixtures("worker")

MODEL = "smollm2-135m-instruct"
NAME = {"type": "string", "minLength": 1, "maxLength": 16}
SCHEMAS = [
    {"type": "object", "properties": {"colour": {"enum": ["red", "green", "blue"]}}, "required": ["colour"]},
    {"type": "object", "properties": {"age": {"type": "integer", "minimum": 18, "maximum": 99}}, "required": ["age"]},
    {"type": "object", "properties": {"fruits": {"type": "array", "items": NAME, "minItems": 2, "maxItems": 3}}, "required": ["fruits"]},
    {"type": "object", "properties": {"person": {"type": "object", "properties": {"name": NAME, "city": NAME},
     "required": ["name", "city"], "additionalProperties": False}}, "required": ["person"]},
    {"type": "object", "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}}, "required": ["zip"]},
    {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 9}},
     "required": ["id"]}, "minItems": 1, "maxItems": 3},
    {"type": "object", "properties": {"ok": {"type": "boolean"}, "score": {"type": "number", "minimum": 0, "maximum": 1}},
     "required": ["ok", "score"]},
    {"type": "object", "properties": {"value": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 100}, NAME]}},
     "required": ["value"]},
    {"type": "object", "properties": {"nickname": {"type": ["string", "null"], "maxLength": 12}}, "required": ["nickname"]},
    {"type": "object", "properties": {"kind": {"const": "answer"}, "text": NAME}, "required": ["kind", "text"]},
    {"type": "object", "properties": {"title": NAME, "year": {"type": "integer", "minimum": 1900, "maximum": 2030}},
     "required": ["title"], "additionalProperties": False},
    {"type": "array", "items": {"type": "integer", "minimum": -5, "maximum": 5}, "minItems": 3, "maxItems": 5},
    {"type": "object", "properties": {"grid": {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 0,
     "maximum": 9}, "minItems": 2, "maxItems": 2}, "minItems": 2, "maxItems": 2}}, "required": ["grid"]},
    {"type": "object", "properties": {"rating": {"enum": [1, 2, 3, 4, 5]}}, "required": ["rating"]},
    {"type": "object", "properties": {"code": {"type": "string", "minLength": 3, "maxLength": 6}}, "required": ["code"]},
    {"$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer", "minimum": 0, "maximum": 50},
     "y": {"type": "integer", "minimum": 0, "maximum": 50}}, "required": ["x", "y"], "additionalProperties": False}},
     "type": "object", "properties": {"start": {"$ref": "#/$defs/point"}, "end": {"$ref": "#/$defs/point"}}, "required": ["start", "end"]},
    {"type": "object", "properties": {"temperature": {"type": "number", "exclusiveMinimum": -50, "exclusiveMaximum": 60}},
     "required": ["temperature"]},
    {"type": "object", "properties": {"name": NAME, "email": {"type": "string", "pattern": "^[a-z]{1,8}@[a-z]{1,8}\\\\.com$"},
     "admin": {"type": "boolean"}}, "required": ["name", "email", "admin"], "additionalProperties": False},
    {"enum": ["yes", "no", "maybe"]},
    {"type": "object", "properties": {"day": {"type": "string", "format": "date"}}, "required": ["day"]},
]  # fmt: skip
assert len(SCHEMAS) == 20


@pytest.fixture(scope="module")
def client(api_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key="unused", max_retries=0, timeout=120)


def ask(client: openai.OpenAI, content: str, **options):
    options = {"temperature": 0, "max_tokens": 200, **options}
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}], **options)


def streamed_text(client: openai.OpenAI, content: str, **options) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in ask(client, content, stream=True, **options) if chunk.choices)


def test_twenty_schemas_answered_with_json_that_validates_streamed_and_not(client):
    def one(i: int) -> list[str]:
        schema = SCHEMAS[i]
        fmt = {"type": "json_schema", "json_schema": {"name": f"shape_{i}", "schema": schema, "strict": True}}
        prompt = f"Answer with JSON only. Example number {i}."
        plain = ask(client, prompt, response_format=fmt)
        assert plain.choices[0].finish_reason == "stop", (i, plain.choices[0].message.content)
        texts = [plain.choices[0].message.content, streamed_text(client, prompt + " (streamed)", response_format=fmt)]
        for text in texts:
            jsonschema.validate(json.loads(text), schema)
        return texts

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(len(SCHEMAS))))
    assert len(answers) == 20


def test_json_object_choice_and_regex(client):
    reply = ask(client, 'Return a JSON object with one key, "answer", whose value is 42.', response_format={"type": "json_object"})
    assert isinstance(json.loads(reply.choices[0].message.content), dict)
    choice = ask(client, "Is the sky blue? Answer yes or no.", extra_body={"guided_choice": ["yes", "no"]})
    assert choice.choices[0].message.content in ("yes", "no")
    phone = ask(client, "Give me a phone number.", extra_body={"guided_regex": r"[0-9]{3}-[0-9]{4}"})
    assert re.fullmatch(r"[0-9]{3}-[0-9]{4}", phone.choices[0].message.content)
    newer = ask(client, "Pick a colour.", extra_body={"structured_outputs": {"choice": ["red", "blue"]}})
    assert newer.choices[0].message.content in ("red", "blue")
    grammar = ask(client, "Say a greeting.", extra_body={"guided_grammar": 'root ::= "hello" | "hi there"'})
    assert grammar.choices[0].message.content in ("hello", "hi there")


WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
           "parameters": {"type": "object", "properties": {"city": NAME, "unit": {"enum": ["celsius", "fahrenheit"]}},
                          "required": ["city", "unit"], "additionalProperties": False}}}  # fmt: skip
TIME = {"type": "function", "function": {"name": "get_time", "description": "The time in a timezone",
        "parameters": {"type": "object", "properties": {"zone": NAME}, "required": ["zone"], "additionalProperties": False}}}  # fmt: skip


def check_calls(calls, tools) -> None:
    by_name = {tool["function"]["name"]: tool["function"]["parameters"] for tool in tools}
    assert calls
    for call in calls:
        assert call.type == "function" and call.id.startswith("call_")
        jsonschema.validate(json.loads(call.function.arguments), by_name[call.function.name])


def test_a_named_and_a_required_tool_call_validate_streamed_and_not(client):
    named = {"type": "function", "function": {"name": "get_weather"}}
    reply = ask(client, "What is the weather in Paris?", tools=[WEATHER, TIME], tool_choice=named)
    message = reply.choices[0].message
    assert reply.choices[0].finish_reason == "tool_calls" and message.content is None
    assert [call.function.name for call in message.tool_calls] == ["get_weather"]
    check_calls(message.tool_calls, [WEATHER, TIME])
    required = ask(client, "What time is it in Tokyo?", tools=[WEATHER, TIME], tool_choice="required", parallel_tool_calls=False)
    assert required.choices[0].finish_reason == "tool_calls"
    check_calls(required.choices[0].message.tool_calls, [WEATHER, TIME])
    chunks = list(ask(client, "Weather in Rome?", tools=[WEATHER], tool_choice="required", stream=True, max_tokens=400))
    deltas = [call for chunk in chunks if chunk.choices for call in (chunk.choices[0].delta.tool_calls or [])]
    assert deltas and [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    check_calls([delta for delta in deltas if delta.function.name], [WEATHER])
    # a tool's result goes back as a `tool` message, and the model answers in text
    follow = client.chat.completions.create(model=MODEL, temperature=0, max_tokens=30, tools=[WEATHER], messages=[
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [message.tool_calls[0].model_dump()]},
        {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": '{"temperature": 21, "sky": "sunny"}'},
    ])  # fmt: skip
    assert follow.choices[0].finish_reason in ("stop", "length", "tool_calls")


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "strng"}}}}, "response_format"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array", "uniqueItems": True}}}},
         "response_format"),
        ({"extra_body": {"guided_regex": "(unclosed"}}, "guided_regex"),
        ({"extra_body": {"guided_choice": []}}, "guided_choice"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ],
)  # fmt: skip
def test_a_constraint_that_cannot_be_enforced_is_a_400_and_nothing_is_queued(client, options, param):
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, "hi", **options)
    error = info.value.body
    assert error["param"] == param and error["type"] == "invalid_request_error", error


def test_post_v1_jobs_takes_response_format_too(http, wait_for_job):
    schema = SCHEMAS[1]
    fmt = {"type": "json_schema", "json_schema": {"name": "age", "schema": schema}}
    job = http.post("/v1/jobs", json={"prompt": "How old is Ann? JSON.", "temperature": 0, "max_tokens": 60, "response_format": fmt}).json()
    done = wait_for_job(lambda job_id: http.get(f"/v1/jobs/{job_id}").json(), job["id"])
    jsonschema.validate(json.loads(done["output"]), schema)
    bad = http.post("/v1/jobs", json={"prompt": "hi", "guided_json": {"type": "strng"}})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "guided_json"


def test_batch_lines_take_response_format(client):
    import io

    schema = SCHEMAS[13]
    fmt = {"type": "json_schema", "json_schema": {"name": "rating", "schema": schema}}
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": MODEL, "messages": [{"role": "user", "content": f"Rate film {i} from 1 to 5."}], "max_tokens": 40,
                       "temperature": 0, "response_format": fmt}} for i in range(3)]  # fmt: skip
    upload = client.files.create(file=("in.jsonl", io.BytesIO("\n".join(map(json.dumps, lines)).encode())), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    ended = ("completed", "failed", "expired", "cancelled")
    batch = wait_until(lambda: (b := client.batches.retrieve(batch.id)).status in ended and b, 180, what="the batch to end", interval=0.5)
    assert batch.status == "completed" and batch.request_counts.completed == 3, batch
    for line in client.files.content(batch.output_file_id).text.splitlines():
        content = json.loads(line)["response"]["body"]["choices"][0]["message"]["content"]
        jsonschema.validate(json.loads(content), schema)
