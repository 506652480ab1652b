"""A target trainer's rules for a conversation, checked before a row is written.

Trainers skip (LLaMA-Factory: "Skipping this abnormal example"), truncate or crash on conversations
they cannot read. Every exporter checks its rows here first and refuses the record with a stable
reason instead; the refused records land in the output's ``dropped/`` with the reason.

The grammar, after an optional leading system turn (``U`` user, ``A`` assistant text, ``F`` assistant
tool call, ``T`` tool result)::

    (U (F T+)* A)* U (F T+)* (A | F)    with ``alternation`` (LLaMA-Factory, FastChat/ShareGPT, XTuner)

(the last answer may be a tool call: the example teaches the model to call the tool).

Without ``alternation`` only the basics hold: the first turn is the user's, the last an assistant
answer, and tool calls are answered. Reasons: ``empty_conversation``, ``system_not_first``,
``first_turn_not_user``, ``empty_user_turn``, ``empty_assistant_turn``, ``empty_tool_turn``,
``unknown_role``, ``tool_calls_unsupported``, ``malformed_tool_call``, ``tool_call_with_text``,
``tool_call_unanswered``,
``tool_result_without_call``, ``tool_call_id_mismatch``, ``consecutive_tool_turns``,
``not_alternating``, ``no_final_answer``.
"""

from __future__ import annotations

from dataclasses import dataclass

from datamill.formats.cot import split_think
from datamill.records import Message
from datamill.steps.base import Drop


@dataclass(frozen=True)
class Rules:
    """What a target accepts."""

    alternation: bool = True
    tools: bool = True
    #: an assistant turn may carry text next to its tool calls (OpenAI yes; LLaMA-Factory sharegpt no)
    text_with_tool_calls: bool = True
    #: several tool results in a row (parallel calls); LLaMA-Factory sharegpt needs one per call turn
    parallel_tool_results: bool = True


def _blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip()


def _well_formed(call: object) -> bool:
    """An OpenAI-shaped call: ``{"type": "function", "function": {"name": str, "arguments": ...}}``."""
    function = call.get("function") if isinstance(call, dict) else None
    return isinstance(function, dict) and isinstance(function.get("name"), str) and bool(function["name"])


def _without_think(content: object) -> object:
    """The content without a leading ``<think>`` block (reasoning rendered in front of a tool call)."""
    if isinstance(content, str):
        parts = split_think(content)
        if parts is not None:
            return parts[1]
    return content


def _turn_kind(message: Message) -> str | Drop:
    role = message.get("role")
    if role == "user":
        return "U" if not _blank(message.get("content")) else Drop("empty_user_turn")
    if role == "tool":
        return "T" if not _blank(message.get("content")) else Drop("empty_tool_turn")
    if role == "assistant":
        if message.get("tool_calls"):
            return "F"
        return "A" if not _blank(message.get("content")) else Drop("empty_assistant_turn")
    if role == "system":
        return Drop("system_not_first")
    return Drop("unknown_role", {"role": role})


def _check_tool_pairing(messages: list[Message], kinds: list[str], rules: Rules) -> Drop | None:
    i = 0
    while i < len(kinds):
        if kinds[i] == "T":
            return Drop("tool_result_without_call", {"turn": i})
        if kinds[i] != "F":
            i += 1
            continue
        call = messages[i]
        if not rules.tools:
            return Drop("tool_calls_unsupported")
        calls = call["tool_calls"]
        if not (isinstance(calls, list) and all(_well_formed(c) for c in calls)):
            return Drop("malformed_tool_call", {"turn": i})
        if not rules.text_with_tool_calls and not _blank(_without_think(call.get("content"))):
            return Drop("tool_call_with_text", {"turn": i})
        j = i + 1
        while j < len(kinds) and kinds[j] == "T":
            j += 1
        results = messages[i + 1 : j]
        if not results and i == len(kinds) - 1:
            return None  # the answer is the tool call itself (the model learns to call the tool)
        if not results:
            return Drop("tool_call_unanswered", {"turn": i})
        if len(results) > 1 and not rules.parallel_tool_results:
            return Drop("consecutive_tool_turns", {"turn": i + 1})
        ids = [c.get("id") for c in calls if isinstance(c, dict)]
        answered = [r.get("tool_call_id") for r in results]
        if all(ids) and all(answered) and sorted(map(str, ids)) != sorted(map(str, answered)):
            return Drop("tool_call_id_mismatch", {"turn": i})
        if len(results) > 1 and len(results) != len(calls):
            return Drop("tool_call_unanswered", {"turn": i, "calls": len(calls), "results": len(results)})
        i = j
    return None


def check_conversation(messages: list[Message], rules: Rules) -> Drop | None:
    """``None`` when ``messages`` (a whole conversation ending with the answer) suits the target."""
    if messages and messages[0].get("role") == "system":
        messages = messages[1:]
    if not messages:
        return Drop("empty_conversation")
    kinds: list[str] = []
    for message in messages:
        kind = _turn_kind(message)
        if isinstance(kind, Drop):
            return kind
        kinds.append(kind)
    if kinds[0] != "U":
        return Drop("first_turn_not_user")
    if any(k in "FT" for k in kinds):
        if not rules.tools:
            return Drop("tool_calls_unsupported")
        dropped = _check_tool_pairing(messages, kinds, rules)
        if dropped is not None:
            return dropped
    if kinds[-1] not in "AF":
        return Drop("no_final_answer")
    if rules.alternation:
        expect_user = True
        for i, kind in enumerate(kinds):
            if kind == "T":
                continue
            if expect_user != (kind == "U"):
                return Drop("not_alternating", {"turn": i})
            expect_user = kind == "A"  # after a tool call the assistant goes on (results, then its answer)
    return None


def check_pair(context: list[Message], chosen: list[Message], rejected: list[Message], rules: Rules) -> Drop | None:
    """A preference pair: both continuations make valid conversations with the context, and differ."""
    if chosen == rejected:
        return Drop("identical_pair")
    for side in (chosen, rejected):
        dropped = check_conversation(context + side, rules)
        if dropped is not None:
            return dropped
    return None
