"""Tool calling: the tools a request offers, what ``tool_choice`` forces, how the prompt shows them when the model's
chat template does not, and how a finished output becomes OpenAI's ``tool_calls``.

``required`` and a named function are enforced by a grammar (app/structured/spec.py): the output is a JSON array
of ``{"name", "arguments"}`` calls (``required``) or the named function's arguments, so they always parse and match
each function's ``parameters``. ``auto`` leaves the model free and reads ``<tool_call>{...}</tool_call>`` blocks
(the Hermes format, which the prompt asks for) out of its answer; ``none`` shows no tools at all.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidRequestError
from app.structured.spec import OutputSpec, checked

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # OpenAI's rule for function names
MAX_CALLS = 4  # calls one forced answer may hold (``parallel_tool_calls: false``: 1): a small model may never close the list
CALL_BLOCK = re.compile(r"<tool_call>\s*(\{.*?\})\s*(?:</tool_call>|$)", re.S)


@dataclass(frozen=True)
class Tools:
    functions: tuple[dict[str, Any], ...]  # {"name", "description", "parameters"} each
    mode: str  # none | auto | required | named
    named: str | None = None
    max_calls: int = MAX_CALLS

    @property
    def shown(self) -> bool:
        return self.mode != "none"

    def spec(self) -> OutputSpec | None:
        """The grammar ``tool_choice`` forces, if any."""
        if self.mode == "named":
            return OutputSpec("json_schema", self._parameters(self.named))
        if self.mode != "required":
            return None
        calls = [{"type": "object", "properties": {"name": {"const": f["name"]}, "arguments": f["parameters"]},
                  "required": ["name", "arguments"], "additionalProperties": False} for f in self.functions]  # fmt: skip
        items = calls[0] if len(calls) == 1 else {"anyOf": calls}
        return OutputSpec("json_schema", {"type": "array", "minItems": 1, "maxItems": self.max_calls, "items": items})

    def _parameters(self, name: str | None) -> dict[str, Any]:
        return next(f["parameters"] for f in self.functions if f["name"] == name)

    def system_prompt(self) -> str:
        """How the tools are shown to a model whose chat template takes no ``tools``."""
        listed = "\n".join(json.dumps({"type": "function", "function": f}) for f in self.functions)
        how = {
            "auto": 'To call a function, answer with <tool_call>{"name": <function name>, "arguments": <arguments object>}</tool_call> '
            "for each call; otherwise answer normally.",
            "required": 'Answer with a JSON array of calls: [{"name": <function name>, "arguments": <arguments object>}].',
            "named": f"Answer with the JSON arguments of a call to {self.named}.",
        }[self.mode]
        return f"You may call these functions (each with the JSON Schema of its arguments):\n<tools>\n{listed}\n</tools>\n{how}"

    def calls(self, output: str, call_id: str) -> list[dict[str, Any]] | None:
        """OpenAI's ``tool_calls`` read out of a finished output (None: the model called nothing).
        ``call_id``: what each call's id derives from (the reply's id), so a reply's ids are stable."""
        found: list[tuple[str, Any]] = []
        if self.mode == "named":
            found = [(self.named or "", _json(output))]
        elif self.mode == "required":
            parsed = _json(output)
            found = [(c.get("name"), c.get("arguments")) for c in parsed if isinstance(c, dict)] if isinstance(parsed, list) else []
        elif self.mode == "auto":
            for block in CALL_BLOCK.findall(output):
                parsed = _json(block)
                if isinstance(parsed, dict):
                    found.append((parsed.get("name"), parsed.get("arguments", parsed.get("parameters"))))
        names = {f["name"] for f in self.functions}
        calls = [(name, args) for name, args in found if name in names and isinstance(args, dict)]
        if not calls:
            return None
        return [{"id": "call_" + uuid.uuid5(uuid.NAMESPACE_URL, f"{call_id}/{i}").hex[:24], "type": "function",
                 "function": {"name": name, "arguments": json.dumps(args)}} for i, (name, args) in enumerate(calls)]  # fmt: skip


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def parse_tools(tools: list[Any] | None, tool_choice: Any, parallel: bool | None = None) -> Tools | None:
    """``tools``, ``tool_choice`` and ``parallel_tool_calls`` as OpenAI defines them, checked; None when no tool is offered."""
    if not tools:
        if tool_choice not in (None, "none"):
            raise InvalidRequestError("tool_choice", "tool_choice: needs tools")
        return None
    functions = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not NAME.match(function["name"]):
            raise InvalidRequestError(
                f"tools.{i}", f"tools.{i}: {{type: function, function: {{name (a-z, 0-9, _ or -), description, parameters}}}}"
            )
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise InvalidRequestError(f"tools.{i}.function.parameters", f"tools.{i}.function.parameters: a JSON Schema object")
        functions.append({"name": function["name"], "description": str(function.get("description", "")), "parameters": parameters})
    if len({f["name"] for f in functions}) < len(functions):
        raise InvalidRequestError("tools", "tools: two functions of one name")
    choice = "auto" if tool_choice is None else tool_choice
    named = None
    if isinstance(choice, dict):
        function = choice.get("function") if choice.get("type") == "function" else None
        named = function.get("name") if isinstance(function, dict) else None
        if named not in {f["name"] for f in functions}:
            raise InvalidRequestError("tool_choice", f"tool_choice: names no function of tools ({named!r})")
        choice = "named"
    elif choice not in ("none", "auto", "required"):
        raise InvalidRequestError("tool_choice", "tool_choice: none, auto, required or {type: function, function: {name}}")
    parsed = Tools(tuple(functions), choice, named, 1 if parallel is False else MAX_CALLS)
    if (spec := parsed.spec()) is not None:
        checked(spec, "tools")
    return parsed


def template_messages(
    messages: list[dict[str, Any]], tools: Tools | None, template_takes_tools: bool
) -> tuple[list[dict[str, Any]], list | None]:
    """The messages (and ``tools``) to render: as they are for a template that knows tools; else the tools in the
    system message, an assistant's calls as ``<tool_call>`` blocks, a tool's result as a ``tool`` turn."""
    shown = tools is not None and tools.shown
    if template_takes_tools:
        return messages, [{"type": "function", "function": f} for f in tools.functions] if shown else None
    rendered = []
    for message in messages:
        content = message.get("content") or ""
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            content += (
                f'<tool_call>{{"name": {json.dumps(function.get("name"))}, "arguments": {function.get("arguments") or "{}"}}}</tool_call>'
            )
        rendered.append({"role": message["role"], "content": content})
    if shown:
        system = tools.system_prompt()
        if rendered and rendered[0]["role"] == "system":
            rendered[0] = {"role": "system", "content": rendered[0]["content"] + "\n\n" + system}
        else:
            rendered.insert(0, {"role": "system", "content": system})
    return rendered, None
