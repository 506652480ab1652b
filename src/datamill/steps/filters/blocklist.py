"""The ``blocklist`` filter: drop records containing listed words or patterns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from datamill.errors import RecipeError
from datamill.selectors import Selector
from datamill.steps.base import Drop
from datamill.steps.filters.base import FilterParams, Scores, TextFilter


class BlocklistParams(FilterParams):
    on: Selector = Field(default="all", description="texts to search: default all (a blocked word in the prompt is as "
                                               "bad as in the answer); prompt, answer, turns... or field paths")
    words: list[str] = Field(default=[], description="words or phrases; case-insensitive; ASCII words match "
                                                     "whole words only ('ass' does not match 'class')")
    patterns: list[str] = Field(default=[], description="regular expressions (searched)")
    file: str | None = Field(default=None, description="a UTF-8 file with one word per line (# comments)")
    reason: str = Field(default="blocklist", min_length=1, description="drop reason")

    @field_validator("patterns")
    @classmethod
    def _compile(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {p!r}: {exc}") from None
        return v


def word_pattern(words: list[str]) -> re.Pattern[str] | None:
    """One alternation: ASCII words get word boundaries, other words (CJK) match as substrings."""
    parts = []
    for w in sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True):
        escaped = re.escape(w)
        parts.append(rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])" if w.isascii() else escaped)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


class Blocklist(TextFilter[BlocklistParams]):
    """Drop records whose selected texts contain a blocked word or pattern (reason ``blocklist``, detail:
    the first match). ``on`` defaults to ``all`` (a blocked word in the prompt is as bad as in the answer).
    Words come from ``words`` and ``file``; patterns are regular expressions. Score: ``blocklist.hits``.
    """

    name: ClassVar[str] = "blocklist"
    Params = BlocklistParams

    def __init__(self, params: BlocklistParams) -> None:
        if params.file:
            # the file's words become part of the params: the fingerprint follows the file's content, and the
            # workers that rebuild the step from its params need not read the file again
            try:
                lines = Path(params.file).read_text(encoding="utf-8-sig").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise RecipeError(f"blocklist: cannot read file {params.file!r}: {exc}", location="params.file",
                                  hint="give a UTF-8 text file with one word per line") from None
            words = [w.strip() for w in lines if w.strip() and not w.lstrip().startswith("#")]
            params = params.model_copy(update={"words": list(dict.fromkeys([*params.words, *words])), "file": None})
        super().__init__(params)
        self._words = word_pattern(list(params.words))
        self._patterns = [re.compile(p) for p in params.patterns]
        self._match = ""

    def score(self, texts: list[str]) -> Scores:
        hits = 0
        self._match = ""
        for t in texts:
            for pattern in ([self._words] if self._words else []) + self._patterns:
                for m in pattern.finditer(t):
                    hits += 1
                    self._match = self._match or m.group(0)
        return {"hits": float(hits)}

    def decide(self, scores: Scores) -> Drop | None:
        return Drop(self.params.reason, {"match": self._match}) if scores["hits"] else None
