"""Tools: what tool_choice forces, how calls are read out of an answer, and how tools reach a template that knows none."""

from __future__ import annotations

import json

import jsonschema
import pytest

from app.errors import InvalidRequestError
from app.structured.tools import parse_tools, template_messages

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}}, "required": ["city"]}}}  # fmt: skip
TIME = {"type": "function", "function": {"name": "get_time", "description": "now"}}


def test_required_forces_a_list_of_calls_and_a_named_function_its_arguments():
    required = parse_tools([WEATHER, TIME], "required")
    schema = required.spec().value
    jsonschema.validate([{"name": "get_weather", "arguments": {"city": "Rome"}}], schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"name": "get_weather", "arguments": {}}], schema)  # its parameters are enforced
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([], schema)
    assert parse_tools([WEATHER], "required", parallel=False).spec().value["maxItems"] == 1
    named = parse_tools([WEATHER, TIME], {"type": "function", "function": {"name": "get_weather"}})
    assert named.spec().value == WEATHER["function"]["parameters"]
    assert parse_tools([WEATHER], "auto").spec() is None and parse_tools([WEATHER], None).mode == "auto"


def test_calls_are_read_in_openais_shape_with_stable_ids():
    named = parse_tools([WEATHER], {"type": "function", "function": {"name": "get_weather"}})
    (call,) = named.calls('{"city": "Rome"}', "chatcmpl-1/0")
    assert call["type"] == "function" and call["function"] == {"name": "get_weather", "arguments": '{"city": "Rome"}'}
    assert call["id"].startswith("call_") and call == named.calls('{"city": "Rome"}', "chatcmpl-1/0")[0]
    required = parse_tools([WEATHER, TIME], "required")
    calls = required.calls('[{"name": "get_time", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]', "x")
    assert [c["function"]["name"] for c in calls] == ["get_time", "get_weather"] and calls[0]["id"] != calls[1]["id"]
    auto = parse_tools([WEATHER], "auto")
    text = 'Sure. <tool_call>{"name": "get_weather", "arguments": {"city": "Lima"}}</tool_call>'
    assert json.loads(auto.calls(text, "x")[0]["function"]["arguments"]) == {"city": "Lima"}
    assert auto.calls("It is sunny.", "x") is None
    assert auto.calls('<tool_call>{"name": "unknown", "arguments": {}}</tool_call>', "x") is None


@pytest.mark.parametrize(
    ("tools", "choice", "param"),
    [
        ([{"type": "function"}], None, "tools.0"),
        ([{"type": "function", "function": {"name": "has space"}}], None, "tools.0"),
        ([WEATHER, WEATHER], None, "tools"),
        ([WEATHER], {"type": "function", "function": {"name": "get_time"}}, "tool_choice"),
        ([WEATHER], "sometimes", "tool_choice"),
        (None, "required", "tool_choice"),
        ([{"type": "function", "function": {"name": "f", "parameters": {"type": "strng"}}}], "required", "tools"),
    ],
)
def test_bad_tools_are_refused_naming_the_field(tools, choice, param):
    with pytest.raises(InvalidRequestError) as info:
        parse_tools(tools, choice)
    assert info.value.field == param


def test_a_template_without_tools_gets_them_in_the_system_turn_and_calls_as_blocks():
    tools = parse_tools([WEATHER], "auto")
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                              "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]  # fmt: skip
    rendered, passed = template_messages(history, tools, template_takes_tools=False)
    assert passed is None and rendered[0]["content"].startswith("Be brief.\n\n") and "<tools>" in rendered[0]["content"]
    assert rendered[2] == {"role": "assistant", "content": '<tool_call>{"name": "get_weather", "arguments": {"city": "Rome"}}</tool_call>'}
    assert rendered[3] == {"role": "tool", "content": "sunny"}
    same, passed = template_messages(history, tools, template_takes_tools=True)
    assert same is history and passed == [{"type": "function", "function": {**WEATHER["function"], "description": ""}}]
    assert template_messages(history[:2], parse_tools([WEATHER], "none"), False)[0] == history[:2]
