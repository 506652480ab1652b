"""Tool calls and tool schemas written the way each target reads them.

Canonical tool calls are OpenAI-shaped (``{"type": "function", "function": {"name", "arguments"}}``)
with ``arguments`` as the source gave it. ShareGPT ``function_call`` turns (LLaMA-Factory, glaive)
hold ``{"name", "arguments": {...}}`` as JSON text with the arguments as an object (LLaMA-Factory
re-serialises them); OpenAI messages hold ``arguments`` as a JSON string.
"""

from __future__ import annotations

import json
from typing import Any

from datamill.formats.messages import NOT_JSON, parse_json


def _arguments_object(arguments: Any) -> Any:
    if isinstance(arguments, str):
        parsed = parse_json(arguments)
        return arguments if parsed is NOT_JSON else parsed
    return {} if arguments is None else arguments


def function_call_value(calls: list[dict[str, Any]]) -> str:
    """A ShareGPT ``function_call`` turn's value: one call as an object, several as a list."""
    payload = [
        {"name": c["function"]["name"], "arguments": _arguments_object(c["function"].get("arguments"))}
        for c in calls
    ]
    return json.dumps(payload[0] if len(payload) == 1 else payload, ensure_ascii=False)


def openai_tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI ``tool_calls``: ``arguments`` as a JSON string, ``id`` kept when present."""
    out = []
    for c in calls:
        arguments = c["function"].get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps({} if arguments is None else arguments, ensure_ascii=False)
        call: dict[str, Any] = {"type": "function", "function": {"name": c["function"]["name"], "arguments": arguments}}
        if c.get("id") is not None:
            call["id"] = c["id"]
        out.append(call)
    return out


def _complete_schema(tool: Any) -> Any:
    """A function schema with ``parameters.properties`` present (``{}`` when the source left it out; the
    argument schemas themselves when the source put them directly under ``parameters``): the same JSON
    Schema, but LLaMA-Factory's default tool formatter indexes ``properties``."""
    if not isinstance(tool, dict):
        return tool
    if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
        return {**tool, "function": _complete_schema(tool["function"])}
    parameters = tool.get("parameters")
    if parameters is None and "name" in tool:
        return {**tool, "parameters": {"type": "object", "properties": {}}}
    if isinstance(parameters, dict) and "properties" not in parameters:
        if parameters and "type" not in parameters and all(isinstance(v, dict) for v in parameters.values()):
            # the argument schemas given directly under parameters (ToolBench style): they are the properties,
            # else the trainer shows the tool without arguments while the answers call it with them
            return {**tool, "parameters": {"type": "object", "properties": parameters}}
        return {**tool, "parameters": {**parameters, "properties": {}}}
    return tool


def tools_text(tools: Any) -> str:
    """Tool schemas as JSON text (LLaMA-Factory's ``tools`` column); ``""`` when there are none."""
    if tools is None or tools == "" or tools == []:
        return ""
    if isinstance(tools, str):
        return tools
    schemas = [_complete_schema(t) for t in tools] if isinstance(tools, list) else tools
    return json.dumps(schemas, ensure_ascii=False)
