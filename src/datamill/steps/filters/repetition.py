"""The ``repetition`` filter: text that repeats its lines or its n-grams (degenerate generations, spam)."""

from __future__ import annotations

import re
from collections import Counter
from typing import ClassVar

from pydantic import Field

from datamill.steps.base import Drop
from datamill.steps.filters.base import FilterParams, Scores, TextFilter

_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]"
_TOKEN = re.compile(_CJK + r"|[^\W_]+")
_CJK_CHAR = re.compile(_CJK)


def line_dup_ratio(text: str) -> float:
    """Share of non-empty lines that repeat an earlier line."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return 0.0 if len(lines) < 2 else 1 - len(set(lines)) / len(lines)


def ngram_dup_ratio(text: str, n: int) -> float:
    """Share of tokens covered by n-grams that occur more than once (Gopher's duplicate n-gram fraction);
    tokens are words, or single characters for CJK."""
    return token_dup_ratio(_TOKEN.findall(text.lower()), n)


def token_dup_ratio(tokens: list[str], n: int) -> float:
    """:func:`ngram_dup_ratio` of text already cut into tokens."""
    if len(tokens) < n + 1:
        return 0.0
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    counts = Counter(grams)
    covered = [False] * len(tokens)
    for i, g in enumerate(grams):
        if counts[g] > 1:
            for j in range(i, i + n):
                covered[j] = True
    return sum(covered) / len(tokens)


class RepetitionParams(FilterParams):
    max_line_dup: float = Field(default=0.3, ge=0, le=1, description="max share of repeated lines")
    n: int = Field(default=4, ge=1, description="n-gram size in words")
    cjk_n: int = Field(
        default=8, ge=1,
        description="n-gram size in characters for a text whose tokens are mostly CJK characters (4 characters "
        "are about two words: the terms an explanation repeats counted as a loop)",
    )
    max_ngram_dup: float = Field(
        default=0.5, ge=0, le=1,
        description="max share of tokens inside repeated n-grams; 0.5 tolerates lists and templates, catches "
        "loops such as '好的好的好的...'",
    )


class Repetition(TextFilter[RepetitionParams]):
    """Drop texts that repeat themselves: too many repeated lines (``repetition_lines``) or too many
    tokens inside repeated n-grams (``repetition_ngrams``).

    ``on`` defaults to ``answer`` (a looping generation is the common failure). Short texts (fewer
    than n+1 tokens, or one line) score 0. Scores: ``repetition.lines``, ``repetition.ngrams`` (the worst
    selected text).

    ``max_line_dup`` is the largest share of repeated lines (0.3) and ``max_ngram_dup`` of tokens inside
    repeated n-grams (0.5 tolerates lists and templates, catches loops). N-grams are ``n`` words (4), or
    ``cjk_n`` characters (8) in a text whose tokens are mostly CJK characters: with 4 characters (about two
    words) 54 of 4,747 real Chinese answers (alpaca_zh_demo, MedicalGPT SFT, alpaca-zh) were dropped,
    explanations that repeat their terms among them; with 8, 5, while loops still score ~1.0.
    """

    name: ClassVar[str] = "repetition"
    Params = RepetitionParams

    version: ClassVar[str] = "3"  # "3": CJK text in cjk_n-character n-grams

    def _ngram_ratio(self, text: str) -> float:
        """The duplicate n-gram share of ``text``, in ``cjk_n``-character n-grams when its tokens are mostly
        CJK characters, else in ``n``-word ones (the text is cut into tokens once)."""
        tokens = _TOKEN.findall(text.lower())
        cjk = sum(1 for t in tokens if _CJK_CHAR.fullmatch(t))
        return token_dup_ratio(tokens, self.params.cjk_n if cjk * 2 > len(tokens) else self.params.n)

    def score(self, texts: list[str]) -> Scores:
        return {"lines": max((line_dup_ratio(t) for t in texts), default=0.0),
                "ngrams": max((self._ngram_ratio(t) for t in texts), default=0.0)}

    def decide(self, scores: Scores) -> Drop | None:
        if scores["lines"] > self.params.max_line_dup:
            return Drop("repetition_lines", {"ratio": round(scores["lines"], 4)})
        if scores["ngrams"] > self.params.max_ngram_dup:
            return Drop("repetition_ngrams", {"ratio": round(scores["ngrams"], 4)})
        return None
