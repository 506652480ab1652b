"""Canonical records of every shape, valid and broken, for the exporter tests."""

from __future__ import annotations

from typing import Any

from datamill.records import Record


def msg(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **extra}


def call(name: str, arguments: str, call_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id:
        out["id"] = call_id
    return out


PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}}
TOOLS = [{"type": "function",
          "function": {"name": "weather", "description": "weather of a city", "parameters": PARAMETERS}}]

SFT: list[Record] = [
    {"id": "s:0", "kind": "sft", "messages": [msg("user", "你好"), msg("assistant", "你好！有什么可以帮你？")]},
    {"id": "s:1", "kind": "sft", "messages": [msg("system", "Be brief."), msg("user", "2+2?"), msg("assistant", "4")]},
    {"id": "s:2", "kind": "chat", "messages": [msg("user", "hi"), msg("assistant", "hello"), msg("user", "and?"),
                                               msg("assistant", "that is all")]},
    {"id": "s:3", "kind": "cot", "messages": [msg("user", "3*3?"), msg("assistant", "9", reasoning="3+3+3=9")]},
    {"id": "s:4", "kind": "cot", "messages": [msg("user", "prove it"), msg("assistant", "", reasoning="a long proof")]},
]

TOOL_CHAT: list[Record] = [
    {"id": "t:0", "kind": "chat", "tools": TOOLS, "messages": [
        msg("user", "weather in Paris?"),
        msg("assistant", "", tool_calls=[call("weather", '{"city": "Paris"}', "c1")]),
        msg("tool", '{"temp": 21}', tool_call_id="c1"),
        msg("assistant", "21 degrees."),
    ]},
]

PREFERENCE: list[Record] = [
    {"id": "p:0", "kind": "preference", "messages": [msg("user", "capital of France?")],
     "chosen": [msg("assistant", "Paris")], "rejected": [msg("assistant", "Lyon")]},
    {"id": "p:1", "kind": "preference", "messages": [msg("system", "You are a doctor."), msg("user", "头疼怎么办"),
                                                     msg("assistant", "多久了？"), msg("user", "两天")],
     "chosen": [msg("assistant", "建议就医检查。")], "rejected": [msg("assistant", "没事。")]},
    {"id": "p:2", "kind": "preference", "messages": [msg("user", "a or b?")], "tie": True},
]

KTO: list[Record] = [
    {"id": "k:0", "kind": "preference", "scores": {"kto_label": True},
     "messages": [msg("user", "hi"), msg("assistant", "Hello! How can I help?")]},
    {"id": "k:1", "kind": "preference", "scores": {"kto_label": False},
     "messages": [msg("user", "hi"), msg("assistant", "go away")]},
]

PRETRAIN: list[Record] = [
    {"id": "x:0", "kind": "pretrain", "text": "first document\nwith two lines"},
    {"id": "x:1", "kind": "pretrain", "text": "第二篇文档"},
]

#: Records every conversational target refuses, with the reason.
BROKEN: list[tuple[Record, str]] = [
    ({"id": "b:0", "kind": "sft", "messages": [msg("user", "q"), msg("assistant", "  ")]}, "empty_assistant_turn"),
    ({"id": "b:1", "kind": "sft", "messages": [msg("user", ""), msg("assistant", "a")]}, "empty_user_turn"),
    ({"id": "b:2", "kind": "sft", "messages": [msg("assistant", "a"), msg("user", "q"), msg("assistant", "a")]},
     "first_turn_not_user"),
    ({"id": "b:3", "kind": "chat", "messages": [msg("user", "q"), msg("user", "q2"), msg("assistant", "a")]},
     "not_alternating"),
    ({"id": "b:4", "kind": "sft", "messages": [msg("user", "q"), msg("system", "s"), msg("assistant", "a")]},
     "system_not_first"),
    ({"id": "b:5", "kind": "sft", "messages": [msg("user", "q")]}, "no_final_answer"),
    ({"id": "b:6", "kind": "sft", "messages": [msg("user", [{"type": "image"}]), msg("assistant", "a")]},
     "non_text_content"),
]
