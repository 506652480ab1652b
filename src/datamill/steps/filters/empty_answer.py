"""The ``empty_answer`` filter: answers that are empty or a placeholder (``N/A``, ``无``, ``TODO``...)."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from datamill.steps.base import Drop
from datamill.steps.filters.base import FilterParams, Scores, TextFilter

DEFAULT_PLACEHOLDERS: tuple[str, ...] = (
    "n/a", "na", "none", "null", "nil", "nan", "undefined", "todo", "tbd", "...", "…", "-", "--", "?", "empty",
    "no answer", "无", "暂无", "空", "没有", "略", "待补充", "待定", "无答案", "（空）", "(空)",
)
_STRIP = re.compile(r"^[\s\"'`“”‘’.。!！]+|[\s\"'`“”‘’.。!！]+$")


class EmptyAnswerParams(FilterParams):
    placeholders: list[str] = Field(
        default=list(DEFAULT_PLACEHOLDERS),
        description="answers equal to one of these (case-insensitive, quotes/space/final dots ignored) count "
        "as empty",
    )


class EmptyAnswer(TextFilter[EmptyAnswerParams]):
    """Drop records whose answer is missing, blank or a placeholder (reason ``empty_answer``).

    ``on`` defaults to ``answer`` (the last assistant turn; both continuations of a preference pair;
    ``text`` for pretraining). A record with no selected text at all (no assistant turn) is empty too.
    Score: ``empty_answer.empty`` (1.0 or 0.0).

    ``placeholders`` are the texts that count as empty (case-insensitive; quotes, spaces and final dots
    ignored).
    """

    name: ClassVar[str] = "empty_answer"
    Params = EmptyAnswerParams

    def __init__(self, params: EmptyAnswerParams) -> None:
        super().__init__(params)
        self._placeholders = {p.strip().lower() for p in params.placeholders}

    def is_empty(self, text: str) -> bool:
        bare = text.strip().lower()
        return not bare or bare in self._placeholders or _STRIP.sub("", bare) in self._placeholders \
            or not _STRIP.sub("", bare)

    def score(self, texts: list[str]) -> Scores:
        return {"empty": 1.0 if not texts or any(self.is_empty(t) for t in texts) else 0.0}

    def decide(self, scores: Scores) -> Drop | None:
        return Drop("empty_answer") if scores["empty"] else None
