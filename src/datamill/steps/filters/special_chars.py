"""The ``special_chars`` filter: too many characters that are neither letters, digits, CJK, spaces nor
ordinary punctuation (markup debris, encoding garbage, symbol spam)."""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from pydantic import Field

from datamill.steps.base import Drop
from datamill.steps.filters.base import FilterParams, Scores, TextFilter

ORDINARY_PUNCT = set(".,!?;:'\"()[]-—–…%/+=*<>$€£¥，。！？；：、“”‘’（）《》【】·～~")


def special_ratio(text: str) -> float:
    """Share of non-space characters that are not letters (any script), digits or ordinary punctuation."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    special = sum(1 for c in chars if not (c.isalnum() or c in ORDINARY_PUNCT
                                             or unicodedata.category(c) == "Mn"))
    return special / len(chars)


class SpecialCharsParams(FilterParams):
    max_ratio: float = Field(default=0.25, ge=0, le=1, description="drop above this share of special characters")


class SpecialChars(TextFilter[SpecialCharsParams]):
    """Drop texts where more than ``max_ratio`` of the non-space characters are special (reason
    ``special_chars``): symbols, box drawing, emoji runs, markup debris, replacement characters.

    ``on`` defaults to ``answer``. Letters of every script and CJK count as ordinary, as do common zh/en
    punctuation and math signs, so formulas and Chinese text pass; 0.25 is the Gopher-style threshold.
    Score: ``special_chars.ratio`` (the worst selected text).
    """

    name: ClassVar[str] = "special_chars"
    Params = SpecialCharsParams

    def score(self, texts: list[str]) -> Scores:
        return {"ratio": max((special_ratio(t) for t in texts), default=0.0)}

    def decide(self, scores: Scores) -> Drop | None:
        if scores["ratio"] > self.params.max_ratio:
            return Drop("special_chars", {"ratio": round(scores["ratio"], 4)})
        return None
