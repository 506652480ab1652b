"""``openai``: ``messages`` of ``{role, content}`` (OpenAI chat, TRL, LLaMA-Factory openai/v1), and
the preference and KTO shapes built on it.

Messages: ``content`` is a string, ``null`` (an assistant turn with ``tool_calls``) or a list of parts
(``{type: text, text}``, LLaMA-Factory v1 ``{type, value}``); a single plain text part becomes a string,
``reasoning`` parts and ``reasoning_content``/``reasoning``/``thinking`` fields become the message's
``reasoning``, ``tool_call`` parts become ``tool_calls``; media parts are kept as a part list. Roles
``developer`` -> system and ``function`` -> tool; other keys of a message (``tool_call_id``, ``name``,
``loss_weight``...) are kept on it. ``tools`` -> ``tools``.

Preference (kind ``preference``; the rules are in :mod:`datamill.formats.preference`):

* ``messages`` + ``chosen``/``rejected`` continuations (a string, a message or a list of messages);
* TRL explicit prompt: ``prompt`` (a string, messages, or a list of user turns) + ``chosen``/``rejected``
  (strings, messages, or a list of assistant turns answering those user turns in order);
* whole conversations: TRL implicit prompt (``chosen``/``rejected`` only), UltraFeedback binarized
  (``prompt`` string + whole ``chosen``/``rejected`` + a ``messages`` copy of the chosen side),
  LLaMA-Factory v1 ``chosen_messages``/``rejected_messages``. The shared beginning becomes ``messages``;
  a ``prompt``/``messages`` column must agree with it (else the row is quarantined with both texts);
* both answers empty is a tie (``tie: True``), and so are equal ``score_chosen``/``score_rejected``.

KTO (LLaMA-Factory ``kto_en_demo``, a boolean ``label``): the whole conversation stays in ``messages``
and the label goes to ``scores.kto_label``; the record's kind is ``preference``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.fields import leftover, optional_str, resolve_columns, type_name
from datamill.formats.messages import (
    KTO_LABEL,
    finish,
    has_answer,
    is_blank,
    set_pair,
    text_message,
    tool_calls_from,
    tools_from,
)
from datamill.formats.preference import mark_tie, resolve_pair, split_whole
from datamill.records import Message, Record

DEFAULTS: dict[str, str | None] = {
    "messages": "messages",
    "prompt": "prompt",
    "system": "system",
    "tools": "tools",
    "chosen": "chosen",
    "rejected": "rejected",
    "label": "label",
}

ROLES: dict[str, str] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}

#: LLaMA-Factory v1 preference columns: two whole conversations.
V1_PAIR = ("chosen_messages", "rejected_messages")
_REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")
_CONSUMED = frozenset(("role", "content", "tool_calls", "function_call", *_REASONING_KEYS))
_PLAIN_PART_KEYS = (frozenset(("type", "text")), frozenset(("type", "value")))


def _part_text(part: Mapping[str, Any]) -> Any:
    return part["text"] if "text" in part else part.get("value")


def _is_message_list(value: Any) -> bool:
    return (
        isinstance(value, list) and bool(value) and all(isinstance(m, Mapping) and "role" in m for m in value)
    )


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _blank_turns(value: Any) -> bool:
    return is_blank(value) or (
        isinstance(value, list) and all(isinstance(v, str) and not v.strip() for v in value)
    )


class OpenaiAdapter(FormatAdapter):
    """OpenAI-style messages; TRL preference; LLaMA-Factory v1 and KTO shapes."""

    name = "openai"
    description = "messages: [{role, content}] (+ tools); prompt/chosen/rejected; messages + label (KTO)"
    specificity = 3
    options: ClassVar[dict[str, str]] = {
        **COT_OPTIONS,
        "columns": "LLaMA-Factory dataset_info.json column names (prompt, query, response, ...)",
        "tags": "LLaMA-Factory dataset_info.json tags (role_tag, content_tag, user_tag, ...)",
    }

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        self.columns = resolve_columns(self.name, DEFAULTS, self.config.fields, self.config.options)
        self._explicit_messages = self.columns["messages"] != DEFAULTS["messages"]

    # ----------------------------------------------------------------------------- detection

    def _messages_key(self, row: Mapping[str, Any]) -> str:
        key = self.columns["messages"] or ""
        if key in row or self._explicit_messages:
            return key
        for other in ("conversations", "conversation"):
            if _is_message_list(row.get(other)):
                return other
        return key

    def score(self, row: Mapping[str, Any]) -> float:
        c = self.columns
        turns = row.get(self._messages_key(row))
        if isinstance(turns, list) and turns:
            valid = sum(
                1 for m in turns if isinstance(m, Mapping) and m.get("role") in ROLES and "content" in m
            )
            return 0.9 * valid / len(turns) if valid else 0.0
        if all(_is_message_list(row.get(k)) for k in V1_PAIR):
            return 0.95
        chosen, rejected = row.get(c["chosen"] or ""), row.get(c["rejected"] or "")
        if chosen is None or rejected is None:
            return 0.0
        prompt = row.get(c["prompt"] or "")
        if isinstance(prompt, str) or _is_message_list(prompt) or _is_str_list(prompt):
            return 0.9
        if prompt is None and _is_message_list(chosen) and _is_message_list(rejected):
            return 0.85
        return 0.0

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        key = self._messages_key(row)
        used = [key] if key in row else [k for k in V1_PAIR if k in row]
        return used + [col for p, col in self.columns.items() if p != "messages" and col and col in row]

    # ----------------------------------------------------------------------------- messages

    def _parts(self, parts: list[Any], where: str, message: Message) -> Any:
        """Content from a part list; reasoning and tool-call parts move onto ``message``."""
        kept: list[Any] = []
        for i, part in enumerate(parts):
            if not isinstance(part, Mapping):
                kept.append(part)
                continue
            kind = part.get("type")
            value = _part_text(part)
            if kind in ("reasoning", "thinking") and isinstance(value, str):
                previous = message.get("reasoning")
                message["reasoning"] = f"{previous}\n{value}" if previous else value
            elif kind in ("tool_call", "function_call") and value is not None:
                calls = tool_calls_from(value)
                if isinstance(calls, str):
                    raise AdapterError(f"{where}.content[{i}]: tool call is not JSON")
                message.setdefault("tool_calls", []).extend(calls)
            else:
                kept.append(part)
        if not kept:
            return ""
        if len(kept) == 1 and isinstance(kept[0], Mapping) and frozenset(kept[0]) in _PLAIN_PART_KEYS:
            text = _part_text(kept[0])
            if kept[0]["type"] == "text" and isinstance(text, str):
                return text
        return kept

    def _message(self, m: Any, where: str, *, final: bool = False) -> Message:
        """One message; ``final``: the last one of a conversation or answer, where a null content
        means an empty answer."""
        if not isinstance(m, Mapping):
            raise AdapterError(f"{where} must be an object, got {type_name(m)}")
        raw_role = m.get("role")
        role = ROLES.get(raw_role) if isinstance(raw_role, str) else None
        if role is None:
            raise AdapterError(f"{where}: unknown role {raw_role!r}")
        message: Message = {"role": role, "content": ""}
        for key in _REASONING_KEYS:
            value = m.get(key)
            if value is not None and not isinstance(value, str):
                raise AdapterError(f"{where}: '{key}' must be a string, got {type_name(value)}")
            if value and not message.get("reasoning"):
                message["reasoning"] = value
        tool_calls = m.get("tool_calls")
        if tool_calls:
            if not isinstance(tool_calls, list):
                raise AdapterError(f"{where}: tool_calls must be a list, got {type_name(tool_calls)}")
            message["tool_calls"] = list(tool_calls)
        if isinstance(m.get("function_call"), Mapping):  # the legacy OpenAI single call
            message.setdefault("tool_calls", []).append({"type": "function", "function": m["function_call"]})
        content = m.get("content")
        if isinstance(content, str):
            message["content"] = content
        elif isinstance(content, list):
            message["content"] = self._parts(content, where, message)
        elif content is None and final and role == "assistant" and "content" in m:
            pass  # a null final answer is an empty one (""): kept, filters drop it with a reason
        elif content is not None or not message.get("tool_calls"):
            what = "missing" if content is None else f"a {type_name(content)}"
            raise AdapterError(f"{where}: content must be a string or a list of parts, got {what}")
        for key, value in m.items():
            if key not in _CONSUMED:
                message[key] = value
        return message

    def _messages(self, value: Any, key: str, *, answer: bool = True) -> list[Message]:
        """A list of messages; ``answer``: it ends with the answer (not a prompt), which may be null."""
        if not isinstance(value, list):
            raise AdapterError(f"'{key}' must be a list of messages, got {type_name(value)}")
        last = len(value) - 1 if answer else -1
        return [self._message(m, f"{key}[{i}]", final=i == last) for i, m in enumerate(value)]

    def parse_messages(self, value: Any, key: str, *, answer: bool = True) -> list[Message]:
        """OpenAI-style turns (string content, part lists, reasoning, tool calls) as canonical messages;
        used by the adapters whose rows hold such lists under other names (helpsteer, arena)."""
        return self._messages(value, key, answer=answer)

    def _continuation(self, value: Any, key: str) -> list[Message] | None:
        if _blank_turns(value):
            return None
        if isinstance(value, str):
            return [text_message("assistant", value)]
        if isinstance(value, Mapping):
            message = self._message(value, key, final=True)
            return [message] if has_answer(message) else None
        return self._messages(value, key)

    # ----------------------------------------------------------------------------- records

    def to_record(self, row: Mapping[str, Any]) -> Record:
        c = self.columns
        key = self._messages_key(row)
        chosen_key, rejected_key = c["chosen"] or "", c["rejected"] or ""
        record: Record = {}
        used: set[str] = set()
        if chosen_key in row or rejected_key in row:
            self._preference(row, record, used, key)
        elif key in row:
            used.add(key)
            record["messages"] = self._messages(row[key], key)
            label = row.get(c["label"] or "")
            if isinstance(label, bool):
                record["scores"] = {KTO_LABEL: label}
                used.add(c["label"] or "")
        elif all(k in row for k in V1_PAIR):
            used.update(V1_PAIR)
            chosen = self._messages(row[V1_PAIR[0]], V1_PAIR[0])
            rejected = self._messages(row[V1_PAIR[1]], V1_PAIR[1])
            record["messages"], chosen, rejected, _ = split_whole(chosen, rejected, (), V1_PAIR)
            set_pair(record, chosen, rejected)
            mark_tie(record, row)
        else:
            raise AdapterError(f"no '{key}' (nor '{c['prompt']}' with '{chosen_key}' and '{rejected_key}')")
        self._system(row, record, used)
        if c["tools"] and c["tools"] in row:
            used.add(c["tools"])
            tools = tools_from(row[c["tools"]], c["tools"])
            if tools is not None:
                record["tools"] = tools
        meta = leftover(row, used)
        if meta:
            record["meta"] = meta
        return finish(record, self.config)

    def _preference(self, row: Mapping[str, Any], record: Record, used: set[str], messages_key: str) -> None:
        """A pair: answers as continuations of ``messages``/``prompt``, or as whole conversations whose
        shared beginning is the prompt (see :mod:`datamill.formats.preference`)."""
        prompt_key = self.columns["prompt"] or ""
        sides = (self.columns["chosen"] or "", self.columns["rejected"] or "")
        if sides[0] not in row or sides[1] not in row:
            raise AdapterError(f"a preference row needs both '{sides[0]}' and '{sides[1]}'")
        used.update(sides)
        prompt = row.get(prompt_key)
        if isinstance(prompt, list) and _is_str_list(prompt):
            used.add(prompt_key)
            self._turn_lists(row, record, prompt)
            mark_tie(record, row)
            return
        explicit: list[tuple[str, list[Message]]] = []
        if messages_key in row:
            explicit.append((messages_key, self._messages(row[messages_key], messages_key, answer=False)))
        if prompt_key in row and prompt is not None:
            explicit.append((prompt_key, self._prompt(prompt, prompt_key)))
        chosen = self._continuation(row[sides[0]], sides[0])
        rejected = self._continuation(row[sides[1]], sides[1])
        record["messages"], chosen, rejected, agreed = resolve_pair(chosen, rejected, explicit, sides,
                                                                    f"'{prompt_key}'")
        used.update(agreed)
        set_pair(record, chosen, rejected)
        mark_tie(record, row)

    def _prompt(self, prompt: Any, key: str) -> list[Message]:
        if isinstance(prompt, str):
            return [text_message("user", prompt)]
        if _is_message_list(prompt):
            return self._messages(prompt, key, answer=False)
        raise AdapterError(f"field '{key}' must be a string or a list of messages, got {type_name(prompt)}")

    def _turn_lists(self, row: Mapping[str, Any], record: Record, prompts: list[str]) -> None:
        """Multi-turn pairs as parallel lists of strings: user turns, and each side's answers to them."""
        record["messages"] = [text_message("user", prompts[0])]
        sides: list[list[Message] | None] = []
        for key in (self.columns["chosen"] or "", self.columns["rejected"] or ""):
            answers = row.get(key)
            if _blank_turns(answers):
                sides.append(None)
                continue
            if isinstance(answers, str):
                answers = [answers]
            if not (isinstance(answers, list) and all(isinstance(a, str) for a in answers)):
                raise AdapterError(f"field '{key}' must be a list of strings like the prompt's turns")
            if len(answers) != len(prompts):
                raise AdapterError(f"'{key}' has {len(answers)} turns but the prompt has {len(prompts)}")
            turns = [text_message("assistant", answers[0])]
            for user, answer in zip(prompts[1:], answers[1:], strict=True):
                turns += [text_message("user", user), text_message("assistant", answer)]
            sides.append(turns)
        set_pair(record, sides[0], sides[1])

    def _system(self, row: Mapping[str, Any], record: Record, used: set[str]) -> None:
        key = self.columns["system"] or ""
        if key not in row or row[key] is None:
            return
        system = optional_str(row, key)
        messages = record["messages"]
        if messages and messages[0]["role"] == "system":
            return  # the conversation has its own: the column stays in meta
        used.add(key)
        if system.strip():
            messages.insert(0, text_message("system", system))
