"""The ``split_dialogue`` step: a dialogue packed into one text field with speaker tags -> ``messages``.

Forum dumps and older Chinese SFT sets hold a whole conversation in one string: ``<user>:你好<bot>:您好``,
``Human: ...\\n\\nAssistant: ...``, ``用户：...\\n助手：...``, ``问：...答：...``. This step cuts the text at
its speaker tags into canonical turns.
"""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from datamill.formats.messages import infer_kind
from datamill.records import Message, Record, get_field
from datamill.steps.base import Drop, Params, RowStep
from datamill.steps.fields import check_path, parent

ROLES = ("system", "user", "assistant")
#: Speaker tags tried when ``tags`` is not given (a tag in ``<...>`` may stand anywhere; a word tag needs
#: a colon, ASCII ``:`` or full-width ``：``, and starts a line, or for CJK tags follows a non-letter).
DEFAULT_TAGS: dict[str, list[str]] = {
    "system": ["<system>", "System", "系统"],
    "user": ["<user>", "<human>", "Human", "User", "用户", "问", "提问"],
    "assistant": ["<bot>", "<assistant>", "<gpt>", "Assistant", "Bot", "AI", "助手", "答", "回答", "机器人"],
}
COLON = "[:：]"


class SplitDialogueParams(Params):
    field: str = Field(default="text", description="the field holding the packed dialogue, e.g. meta.text")
    tags: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_TAGS.items()},
        description="speaker tags per role (system, user, assistant): <user> style tags match anywhere, word "
        "tags (Human, 用户) followed by ':' or '：' at the start of a line (CJK tags also after a non-letter)",
    )
    ignore_case: bool = Field(default=True, description="Human: and human: are the same tag")
    anywhere: bool = Field(default=False, description="word tags may also stand mid-line (after a non-letter)")
    alternate: bool = Field(
        default=True, description="turns must alternate user/assistant after an optional first system turn"
    )
    keep_field: bool = Field(default=False, description="keep the packed text next to the new messages")

    @field_validator("field")
    @classmethod
    def _field(cls, v: str) -> str:
        return check_path(v, target=False)

    @model_validator(mode="after")
    def _tags(self) -> SplitDialogueParams:
        seen: dict[str, str] = {}
        for role, tags in self.tags.items():
            if role not in ROLES:
                raise ValueError(f"tags: unknown role '{role}' (roles: {', '.join(ROLES)})")
            for tag in tags:
                key = tag.strip().lower() if self.ignore_case else tag.strip()
                if not key:
                    raise ValueError(f"tags.{role}: an empty tag")
                if key in seen and seen[key] != role:
                    raise ValueError(f"tag '{tag}' is given for both {seen[key]} and {role}")
                seen[key] = role
        if not self.tags.get("user") or not self.tags.get("assistant"):
            raise ValueError("tags needs at least one user and one assistant tag")
        return self


def tag_pattern(tags: dict[str, list[str]], *, ignore_case: bool = True, anywhere: bool = False) -> re.Pattern[str]:
    """One regex whose match is a speaker tag; the group name says the role (longest tags first)."""
    alternatives: list[tuple[int, str]] = []
    for role, names in tags.items():
        for tag in sorted({t.strip() for t in names}, key=len, reverse=True):
            if tag.startswith("<"):
                body = re.escape(tag) + rf"[ \t]*{COLON}?"
            else:
                # CJK text has no spaces between words: its tags stand anywhere after a non-letter
                loose = anywhere or not tag[0].isascii()
                start = r"(?<![^\W_])" if loose else r"(?:^|(?<=\n))[ \t]*"
                body = start + re.escape(tag) + rf"[ \t]*{COLON}"
            alternatives.append((len(tag), f"(?P<{role}_{len(alternatives)}>{body})"))
    ordered = [alt for _, alt in sorted(alternatives, key=lambda a: -a[0])]
    return re.compile("|".join(ordered), re.IGNORECASE if ignore_case else 0)


def split_text(text: str, pattern: re.Pattern[str], *, alternate: bool = True) -> list[Message] | Drop:
    """The turns of ``text``, or a Drop saying why it does not parse.

    >>> split_text("用户：你好\\n助手：您好！", tag_pattern(DEFAULT_TAGS))
    [{'role': 'user', 'content': '你好'}, {'role': 'assistant', 'content': '您好！'}]
    """
    marks = list(pattern.finditer(text))
    if not marks:
        return Drop("dialogue_no_tags")
    before = text[: marks[0].start()].strip()
    if before:
        return Drop("dialogue_text_before_first_tag", {"text": before[:200]})
    turns: list[Message] = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        role = (mark.lastgroup or "").rsplit("_", 1)[0]
        turns.append({"role": role, "content": text[mark.end() : end].strip()})
    if alternate:
        problem = _alternation(turns)
        if problem is not None:
            return problem
    return turns


def _alternation(turns: list[Message]) -> Drop | None:
    body = turns[1:] if turns[0]["role"] == "system" else turns
    for i, turn in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if turn["role"] != expected:
            where = i + len(turns) - len(body)
            return Drop("dialogue_not_alternating", {"turn": where, "role": turn["role"], "expected": expected})
    return None


class SplitDialogue(RowStep[SplitDialogueParams]):
    """Split a dialogue packed into one text field at its speaker tags into ``messages``.

    Reads ``field`` (default ``text``; a CSV/JSON column is ``meta.<column>``), cuts it at the speaker
    tags of ``tags`` (defaults: ``<user>``/``<bot>``, ``Human``/``Assistant``, ``User``/``Assistant``,
    ``用户``/``助手``, ``问``/``答`` ... with ``:`` or ``：``), strips each turn and writes
    ``messages`` (a record's existing messages are replaced) and ``kind`` (``sft``, or ``chat`` with
    several user turns). A turn spans lines until the next tag. ASCII word tags must start a line
    (``anywhere: true`` lifts that) so that "the User: field" inside a sentence is not a turn; CJK tags
    (``问：...答：...`` on one line) may follow any non-letter, since Chinese puts no spaces between
    words, and ``<...>`` tags match anywhere. The packed field is removed unless ``keep_field: true`` (the
    turns hold its text).

    Nothing is half-parsed: a record whose field is missing or not text (``dialogue_missing_field``),
    holds no tag (``dialogue_no_tags``), has text before its first tag
    (``dialogue_text_before_first_tag``) or whose turns do not alternate user/assistant after an
    optional system turn (``dialogue_not_alternating``; ``alternate: false`` keeps them) is dropped
    with that reason. An empty turn is kept (blank is not broken): exporters refuse it.
    """

    name: ClassVar[str] = "split_dialogue"
    Params = SplitDialogueParams

    def __init__(self, params: SplitDialogueParams) -> None:
        super().__init__(params)
        self._pattern = tag_pattern(params.tags, ignore_case=params.ignore_case, anywhere=params.anywhere)

    def process(self, record: Record) -> Record | Drop:
        p = self.params
        text: Any = get_field(record, p.field)
        if not isinstance(text, str):
            return Drop("dialogue_missing_field", {"field": p.field, "got": type(text).__name__})
        turns = split_text(text, self._pattern, alternate=p.alternate)
        if isinstance(turns, Drop):
            return turns
        out = copy.deepcopy(record)
        out["messages"] = turns
        if not p.keep_field:
            holder = parent(out, p.field)
            if holder is not None:
                holder.pop(p.field.split(".")[-1], None)
            if "meta" in out and not out["meta"]:
                del out["meta"]
        out["kind"] = infer_kind(out)
        return out
