"""A request's output constraint in one canonical form: the engine's input and part of the result cache's keys.

Clients name it in several ways, all mapped here: OpenAI's ``response_format`` (``json_object``, ``json_schema``),
vLLM's ``guided_json`` / ``guided_regex`` / ``guided_choice`` / ``guided_grammar`` and its newer
``structured_outputs`` object, and the tool calls that ``tool_choice`` forces (app/structured/tools.py). Every
spec is compiled once here with llguidance (about a millisecond) so that one the engine cannot follow is a 400
naming what is wrong, before the job is queued.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import llguidance
from llguidance.gbnf_to_lark import gbnf_to_lark

from app.errors import InvalidRequestError

KINDS = ("json_object", "json_schema", "regex", "choice", "grammar")
MAX_SPEC_BYTES = 65536  # a schema or grammar larger than this is refused (compiling it would hold a worker)
# JSON on one line, separators as json.dumps writes them: whitespace left free lets a small model pad forever.
JSON_LAYOUT = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


@dataclass(frozen=True)
class OutputSpec:
    kind: str  # one of KINDS
    value: Any = None  # the schema (a dict), the pattern, the choices (a list), the grammar text; None for json_object

    def to_json(self) -> str:
        """Canonical text (sorted keys): equal specs are equal strings, whatever order the client wrote."""
        return json.dumps({"kind": self.kind, "value": self.value}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> OutputSpec:
        raw = json.loads(text)
        return cls(raw["kind"], raw["value"])

    def grammar(self) -> str:
        """llguidance's grammar for this spec."""
        if self.kind in ("json_object", "json_schema"):
            schema = {"type": "object"} if self.kind == "json_object" else closed(self.value)
            return llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults=JSON_LAYOUT)
        if self.kind == "regex":
            return llguidance.LLMatcher.grammar_from_regex(self.value)
        if self.kind == "choice":  # one of the strings, exactly: a Lark rule of JSON-quoted literals
            return llguidance.LLMatcher.grammar_from_lark("start: " + " | ".join(json.dumps(choice) for choice in self.value))
        text = self.value if "::=" not in self.value else gbnf_to_lark(self.value)  # GBNF (llama.cpp's), else Lark
        return llguidance.LLMatcher.grammar_from_lark(text)


SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SCHEMA_VALUES = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedProperties")
SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")


def closed(schema: Any) -> Any:
    """The schema with ``additionalProperties: false`` on every object that lists its properties and says nothing
    of others, as xgrammar's strict mode (vLLM's default) and OpenAI's strict schemas have it: an answer that
    validates against this validates against the original, and a small model cannot wander into extra keys."""
    if not isinstance(schema, dict):
        return schema
    out = {key: value for key, value in schema.items()}
    for key in SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: closed(sub) for name, sub in out[key].items()}
    for key in SCHEMA_VALUES:
        if isinstance(out.get(key), dict):
            out[key] = closed(out[key])
    for key in SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [closed(sub) for sub in out[key]]
    if "properties" in out and "additionalProperties" not in out and "patternProperties" not in out:
        out["additionalProperties"] = False
    return out


def checked(spec: OutputSpec, param: str) -> OutputSpec:
    """``spec`` if llguidance can compile it; else a 400 naming ``param`` and what is wrong (an unsupported
    keyword is named as llguidance names it: ``Unimplemented keys: ["uniqueItems"]``)."""
    if len(spec.to_json()) > MAX_SPEC_BYTES:
        raise InvalidRequestError(param, f"{param}: at most {MAX_SPEC_BYTES} bytes")
    try:
        failed, messages = llguidance.LLMatcher.validate_grammar_with_warnings(spec.grammar())
    except (ValueError, TypeError, RuntimeError) as exc:  # a grammar llguidance cannot even read
        failed, messages = True, [str(exc)]
    if failed:
        raise InvalidRequestError(param, f"{param}: cannot be enforced: {'; '.join(messages)[:500]}")
    return spec


def _schema(value: Any, param: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidRequestError(param, f"{param}: is not valid JSON") from None
    if not isinstance(value, dict | bool):
        raise InvalidRequestError(param, f"{param}: a JSON Schema must be an object")
    return value if isinstance(value, dict) else ({} if value else {"not": {}})


def _from_keys(fields: dict[str, Any], param: str) -> list[tuple[str, OutputSpec]]:
    """vLLM's keys (``guided_`` prefix or inside ``structured_outputs``) -> specs, each with the field it came from."""
    found = []
    for key, value in fields.items():
        if value is None or value is False:
            continue
        where = key if param == "guided_" else f"{param}.{key}"
        name = key.removeprefix("guided_")
        if name == "json":
            found.append((where, OutputSpec("json_schema", _schema(value, where))))
        elif name == "json_object":
            found.append((where, OutputSpec("json_object")))
        elif name == "regex":
            if not isinstance(value, str) or not value:
                raise InvalidRequestError(where, f"{where}: a non-empty regular expression")
            found.append((where, OutputSpec("regex", value)))
        elif name == "choice":
            if not isinstance(value, list) or not value or not all(isinstance(c, str) and c for c in value):
                raise InvalidRequestError(where, f"{where}: a non-empty list of non-empty strings")
            found.append((where, OutputSpec("choice", list(value))))
        elif name == "grammar":
            if not isinstance(value, str) or not value.strip():
                raise InvalidRequestError(where, f"{where}: a grammar (Lark, or GBNF with ::=)")
            found.append((where, OutputSpec("grammar", value)))
        else:
            raise InvalidRequestError(where, f"{where}: unknown; use json, regex, choice, grammar or json_object")
    return found


def from_response_format(value: dict[str, Any]) -> OutputSpec | None:
    """OpenAI's ``response_format``: ``text`` (None), ``json_object``, or ``json_schema`` with its ``schema``."""
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return OutputSpec("json_object")
    if kind == "json_schema":
        wrapper = value.get("json_schema")
        if not isinstance(wrapper, dict) or "schema" not in wrapper:
            raise InvalidRequestError("response_format.json_schema", "response_format.json_schema: needs {name, schema[, strict]}")
        return OutputSpec("json_schema", _schema(wrapper["schema"], "response_format.json_schema.schema"))
    raise InvalidRequestError("response_format.type", "response_format.type: text, json_object or json_schema")


def output_spec(
    *, response_format: dict[str, Any] | None, guided: dict[str, Any], structured: dict[str, Any] | None
) -> tuple[str, OutputSpec] | None:
    """The one constraint of a request, with the field that gave it; a 400 when two are given."""
    found: list[tuple[str, OutputSpec]] = []
    if response_format is not None and (spec := from_response_format(response_format)) is not None:
        found.append(("response_format", spec))
    found += _from_keys(guided, "guided_")
    found += _from_keys(structured or {}, "structured_outputs")
    if len(found) > 1:
        raise InvalidRequestError(found[1][0], f"give one output constraint, not {found[0][0]} and {found[1][0]}")
    return (found[0][0], checked(found[0][1], found[0][0])) if found else None
