"""Tool schemas as LLaMA-Factory reads them: ``parameters.properties`` always present, and never emptied."""

from __future__ import annotations

import json
from typing import Any

import pytest

from datamill.export.tool_calls import tools_text

ARGS = {"category": {"type": "str", "description": "the category"}, "limit": {"type": "int"}}


@pytest.mark.parametrize(("tool", "parameters"), [
    # standard JSON Schema: unchanged
    ({"name": "f", "parameters": {"type": "object", "properties": ARGS, "required": ["category"]}},
     {"type": "object", "properties": ARGS, "required": ["category"]}),
    # no parameters at all: an empty object
    ({"name": "f"}, {"type": "object", "properties": {}}),
    # an object without properties: properties added, nothing else changed
    ({"name": "f", "parameters": {"type": "object"}}, {"type": "object", "properties": {}}),
    # ToolBench style, the argument schemas directly under parameters: they become the properties
    # (before: {"category": ..., "limit": ..., "properties": {}}, shown by LLaMA-Factory without arguments)
    ({"name": "f", "parameters": ARGS}, {"type": "object", "properties": ARGS}),
    # the OpenAI wrapper
    ({"type": "function", "function": {"name": "f", "parameters": ARGS}}, None),
])
def test_parameters_reach_properties(tool: dict[str, Any], parameters: dict[str, Any] | None) -> None:
    schema = json.loads(tools_text([tool]))[0]
    function = schema.get("function", schema)
    assert function["parameters"] == (parameters or {"type": "object", "properties": ARGS})
    assert function["name"] == "f"
