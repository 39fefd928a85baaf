"""The output constraint of a request: every way clients name it maps to one canonical spec, checked before queueing."""

from __future__ import annotations

import json

import jsonschema
import pytest

from app.errors import InvalidRequestError
from app.structured.spec import OutputSpec, closed, output_spec

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def spec_of(response_format=None, structured=None, **guided):
    found = output_spec(response_format=response_format, guided=guided, structured=structured)
    return found[1] if found else None


def test_every_spelling_of_one_schema_is_one_spec():
    openai = spec_of(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA, "strict": True}})
    vllm = spec_of(guided_json=json.dumps(SCHEMA))
    newer = spec_of(structured={"json": SCHEMA})
    reordered = spec_of(guided_json={"required": ["a"], "properties": {"a": {"type": "integer"}}, "type": "object"})
    assert openai == vllm == newer and openai.to_json() == reordered.to_json()
    assert OutputSpec.from_json(openai.to_json()) == openai
    assert spec_of(response_format={"type": "text"}) is None and spec_of() is None
    assert spec_of(response_format={"type": "json_object"}) == spec_of(structured={"json_object": True}) == OutputSpec("json_object")
    assert spec_of(guided_choice=["a", "b"]) == spec_of(structured={"choice": ["a", "b"]}) == OutputSpec("choice", ["a", "b"])


@pytest.mark.parametrize(
    ("fields", "param", "says"),
    [
        ({"guided_json": {"type": "strng"}}, "guided_json", "Invalid type"),
        ({"guided_json": {"type": "array", "uniqueItems": True}}, "guided_json", "uniqueItems"),
        ({"guided_json": "{not json"}, "guided_json", "not valid JSON"),
        ({"guided_json": [1]}, "guided_json", "must be an object"),
        ({"guided_regex": "(a"}, "guided_regex", "unclosed group"),
        ({"guided_choice": []}, "guided_choice", "non-empty list"),
        ({"guided_choice": ["a", ""]}, "guided_choice", "non-empty list"),
        ({"guided_grammar": "start: ("}, "guided_grammar", "cannot be enforced"),
        ({"structured": {"yaml": "x"}}, "structured_outputs.yaml", "unknown"),
        ({"response_format": {"type": "json_schema"}}, "response_format.json_schema", "needs"),
        ({"response_format": {"type": "json_object"}, "guided_regex": "a"}, "guided_regex", "one output constraint"),
    ],
)
def test_what_cannot_be_enforced_is_refused_naming_the_field(fields, param, says):
    with pytest.raises(InvalidRequestError) as info:
        spec_of(**fields)
    assert info.value.field == param and says in str(info.value)


def test_grammars_in_lark_and_in_gbnf_both_compile():
    assert spec_of(guided_grammar='start: "yes" | "no"').kind == "grammar"
    assert spec_of(guided_grammar='root ::= "yes" | "no"').kind == "grammar"


def test_objects_are_closed_unless_the_schema_says_otherwise():
    schema = {"type": "object", "properties": {"p": {"type": "object", "properties": {"q": {"type": "string"}}}},
              "$defs": {"d": {"properties": {"r": {}}}}, "anyOf": [{"properties": {"s": {}}}],
              "items": {"properties": {"t": {}}}}  # fmt: skip
    shut = closed(schema)
    assert shut["additionalProperties"] is False and shut["properties"]["p"]["additionalProperties"] is False
    assert shut["$defs"]["d"]["additionalProperties"] is False and shut["anyOf"][0]["additionalProperties"] is False
    assert shut["items"]["additionalProperties"] is False
    assert "additionalProperties" not in schema  # the request's own schema is left as it was
    assert closed({"properties": {}, "additionalProperties": True})["additionalProperties"] is True
    open_keys = {"properties": {"properties": {"type": "string"}}}  # a property named "properties" is not a schema map
    assert closed(open_keys)["properties"]["properties"] == {"type": "string"}
    jsonschema.validate({"p": {"q": "x"}}, schema)
