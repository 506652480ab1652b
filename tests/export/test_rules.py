"""The target rules: what each conversation shape is refused for."""

from __future__ import annotations

import pytest

from datamill.export.rules import Rules, check_conversation, check_pair

from .samples import call, msg

U, A = msg("user", "q"), msg("assistant", "a")
F = msg("assistant", "", tool_calls=[call("f", "{}", "c1")])
T = msg("tool", "result", tool_call_id="c1")
F2 = msg("assistant", "", tool_calls=[call("f", "{}"), call("g", "{}")])
T1, T2 = msg("tool", "1"), msg("tool", "2")


@pytest.mark.parametrize(
    ("messages", "rules", "reason"),
    [
        ([U, A], Rules(), None),
        ([msg("system", "s"), U, A], Rules(), None),
        ([U, F, T, A], Rules(), None),
        ([U, F, T, F, T, A, U, A], Rules(), None),
        ([], Rules(), "empty_conversation"),
        ([U, F, T, A], Rules(tools=False), "tool_calls_unsupported"),
        ([U, F, A], Rules(), "tool_call_unanswered"),
        ([U, F], Rules(), None),
        ([U, A, F], Rules(), "not_alternating"),
        ([U, T, A], Rules(), "tool_result_without_call"),
        ([U, F, msg("tool", "r", tool_call_id="zz"), A], Rules(), "tool_call_id_mismatch"),
        ([U, F2, T1, T2, A],
         Rules(), None),
        ([U, F2, T1, T2, A],
         Rules(parallel_tool_results=False), "consecutive_tool_turns"),
        ([U, msg("assistant", "let me look", tool_calls=[call("f", "{}")]), msg("tool", "1"), A],
         Rules(text_with_tool_calls=False), "tool_call_with_text"),
        ([U, msg("assistant", "<think>\nr\n</think>\n\n", tool_calls=[call("f", "{}")]), msg("tool", "1"), A],
         Rules(text_with_tool_calls=False), None),
        ([U, msg("assistant", "", tool_calls="Action: search"), msg("tool", "1"), A], Rules(), "malformed_tool_call"),
        ([U, F, msg("tool", " "), A], Rules(), "empty_tool_turn"),
        ([U, A, A], Rules(), "not_alternating"),
        ([U, U, A], Rules(alternation=False), None),
        ([U, A, U], Rules(alternation=False), "no_final_answer"),
        ([U, msg("narrator", "x"), A], Rules(), "unknown_role"),
    ],
)
def test_check_conversation(messages: list[dict[str, object]], rules: Rules, reason: str | None) -> None:
    result = check_conversation(messages, rules)
    assert (result.reason if result else None) == reason


def test_check_pair() -> None:
    assert check_pair([U], [A], [msg("assistant", "b")], Rules()) is None
    identical = check_pair([U], [A], [A], Rules())
    assert identical is not None and identical.reason == "identical_pair"
    empty = check_pair([U], [A], [msg("assistant", "")], Rules())
    assert empty is not None and empty.reason == "empty_assistant_turn"
    context_ends_with_answer = check_pair([U, A], [A], [msg("assistant", "b")], Rules())
    assert context_ends_with_answer is not None and context_ends_with_answer.reason == "not_alternating"
