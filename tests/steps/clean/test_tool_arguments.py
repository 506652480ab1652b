"""Tool-call arguments are part of the turn that makes the call: ``mask_pii``, ``remove_patterns``,
``fix_unicode`` and ``chinese_convert`` clean their string values (arguments as an object, or as JSON text
that stays valid JSON in its own style); ``normalize``, ``standardize`` and ``html_to_text`` leave them
alone (trial 2, glaive_toolcall_en_demo:31)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from datamill.records import Record
from datamill.steps.base import RowStep
from datamill.steps.clean.chinese import ChineseConvert, ChineseConvertParams
from datamill.steps.clean.html import HtmlParams, HtmlToText
from datamill.steps.clean.normalize import Normalize, NormalizeParams
from datamill.steps.clean.pii import MaskPii, MaskPiiParams
from datamill.steps.clean.remove import RemoveParams, RemovePatterns
from datamill.steps.clean.standardize import Standardize, StandardizeParams
from datamill.steps.clean.unicode import FixUnicode, FixUnicodeParams

from ..helpers import run_row_step


def tool_record(arguments: Any, prompt: str = "Email boss@company.com please") -> Record:
    """glaive-shaped: user, an assistant turn calling a tool, the tool's result, the answer."""
    return {
        "id": "t:0", "kind": "chat",
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": "",
             "tool_calls": [{"type": "function", "function": {"name": "send_email", "arguments": arguments}}]},
            {"role": "tool", "content": '{"status": "sent"}'},
            {"role": "assistant", "content": "Done."},
        ],
    }


def arguments_after(step: RowStep[Any], arguments: Any) -> Any:
    kept, dropped = run_row_step(step, [tool_record(arguments)])
    assert not dropped
    return kept[0]["messages"][1]["tool_calls"][0]["function"]["arguments"]


def test_mask_pii_masks_the_call_like_the_turn_and_counts_it() -> None:
    step = MaskPii(MaskPiiParams())
    record = tool_record({"recipient": "boss@company.com", "subject": "Project Update", "cc": ["a@b.org", 3]})
    messages = step.process(record)["messages"]
    assert messages[0]["content"] == "Email <EMAIL> please"
    assert messages[1]["tool_calls"][0]["function"] == {
        "name": "send_email",
        "arguments": {"recipient": "<EMAIL>", "subject": "Project Update", "cc": ["<EMAIL>", 3]}}
    assert step.take_notes() == {"changed": 1, "tool_arguments_changed": 1}
    step.process(tool_record({"subject": "Hi"}, prompt="hello"))
    assert step.take_notes() == {}


def test_numbered_placeholders_are_shared_by_turns_and_calls() -> None:
    step = MaskPii(MaskPiiParams(placeholder="<{type}_{n}>"))
    assert arguments_after(step, {"to": "x@y.com", "cc": "boss@company.com"}) == {"to": "<EMAIL_2>",
                                                                                  "cc": "<EMAIL_1>"}


@pytest.mark.parametrize(("arguments", "expected"), [
    # OpenAI-shaped: JSON text; only the changed string is rewritten, spacing and key order stay
    ('{"recipient": "boss@company.com", "subject": "Hi"}', '{"recipient": "<EMAIL>", "subject": "Hi"}'),
    ('{"recipient":"boss@company.com","n":1}', '{"recipient":"<EMAIL>","n":1}'),
    ('{\n  "to": "boss@company.com"\n}', '{\n  "to": "<EMAIL>"\n}'),
    # escapes: a value is cleaned as the text it stands for, and written back with the same escaping
    ('{"note": "\\u7535\\u8bdd13812345678", "x": "\\u4f60\\u597d"}', '{"note": "\\u7535\\u8bdd<PHONE>", '
     '"x": "\\u4f60\\u597d"}'),
    ('{"note": "line\\n555-123-4567 \\"ok\\""}', '{"note": "line\\n<PHONE> \\"ok\\""}'),
    # keys are the tool's parameter names: never changed
    ('{"boss@company.com": "boss@company.com"}', '{"boss@company.com": "<EMAIL>"}'),
    ('"boss@company.com"', '"<EMAIL>"'),
    ('{"subject": "Hi"}', '{"subject": "Hi"}'),
    # not JSON: cleaned as the text it is
    ("to=boss@company.com", "to=<EMAIL>"),
])
def test_mask_pii_in_json_text_arguments(arguments: str, expected: str) -> None:
    out = arguments_after(MaskPii(MaskPiiParams()), arguments)
    assert out == expected
    if expected.startswith(("{", '"')):
        json.loads(out)


def test_remove_patterns_empties_a_url_argument() -> None:
    out = arguments_after(RemovePatterns(RemoveParams()), '{"website_url": "www.google.com"}')
    assert out == '{"website_url": ""}'
    assert arguments_after(RemovePatterns(RemoveParams()), {"website_url": "www.google.com"}) == {"website_url": ""}


@pytest.mark.parametrize(("on", "masked"), [("all", True), ("turns", True), ("answer", False), ("prompt", False),
                                           ("messages", True), ("messages.1", True), ("messages.1.content", False)])
def test_the_selector_decides(on: str, masked: bool) -> None:
    """A call belongs to the turn that makes it: parts that select that turn select its calls (here the
    calling turn is not the answer, the last assistant turn)."""
    out = arguments_after(MaskPii(MaskPiiParams(on=on)), {"to": "boss@company.com"})
    assert out == ({"to": "<EMAIL>"} if masked else {"to": "boss@company.com"})


def test_the_answer_turns_calls_are_part_of_the_answer() -> None:
    record = tool_record({"to": "boss@company.com"})
    del record["messages"][2:]
    kept, _ = run_row_step(MaskPii(MaskPiiParams(on="answer")), [record])
    assert kept[0]["messages"][1]["tool_calls"][0]["function"]["arguments"] == {"to": "<EMAIL>"}


def test_fix_unicode_and_chinese_convert_clean_arguments() -> None:
    assert arguments_after(FixUnicode(FixUnicodeParams()), {"q": "Tom &amp; Jerry"}) == {"q": "Tom & Jerry"}
    assert arguments_after(ChineseConvert(ChineseConvertParams()), '{"city": "臺北"}') == '{"city": "台北"}'


@pytest.mark.parametrize("step", [
    Normalize(NormalizeParams()), Standardize(StandardizeParams(on="all")), HtmlToText(HtmlParams())],
    ids=["normalize", "standardize", "html_to_text"])
def test_data_steps_leave_arguments_alone(step: RowStep[Any]) -> None:
    """Arguments are values a program reads: a date format, a comma or an HTML body are the tool's."""
    arguments = {"date": "12/16/2019", "address": "181 汤普森街, 纽约", "body": "<p>Hi</p>", "n": "ＡＢ１"}
    assert arguments_after(step, dict(arguments)) == arguments
    assert arguments_after(step, json.dumps(arguments, ensure_ascii=False)) == json.dumps(arguments,
                                                                                          ensure_ascii=False)
