"""What a judge's verdict must show before it is trusted: text to judge, quotes that exist, reasons.

A judge's score is 100 minus the penalties of the issues it lists (:mod:`.scoring`), so silence reads
as perfection: an empty answer, a model that lists nothing, or issues that quote words the text does
not hold (``<the exact words...>`` copied from the prompt's format line) would all pass as sound. These
checks let :class:`~datamill.steps.llm.judge.LLMJudge` refuse an empty text before any call, re-ask
for quotes that do not occur, and treat a verdict with neither issues nor reasoning as no verdict.
"""

from __future__ import annotations

import re
import unicodedata

#: quote marks and brackets a model puts around a quoted span
_QUOTES = "\"'`«»‹›“”‘’„‚「」『』〈〉《》()[]"
#: a span that quotes in pieces: "the capital ... Paris"
_ELLIPSIS = re.compile(r"\s*(?:\.{3,}|…+)\s*")
#: a template placeholder copied instead of filled in: ``<the exact words ...>``, ``<one or two sentences>``
_PLACEHOLDER = re.compile(r"^\s*<[^<>]{0,200}>\s*$")


def is_blank(text: str) -> bool:
    """True when ``text`` holds no letter or digit of any script (empty, spaces, punctuation only)."""
    return not any(ch.isalnum() for ch in text)


def is_placeholder(text: str) -> bool:
    """True for a template placeholder copied verbatim (``<one or two sentences>``)."""
    return bool(_PLACEHOLDER.match(text))


def has_reasoning(text: str) -> bool:
    """A reasoning that says something: not blank and not a copied placeholder."""
    return not is_blank(text) and not is_placeholder(text)


def _fold(text: str) -> str:
    """Case, width and whitespace folded, for finding a quote in a text."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def span_occurs(span: str, texts: list[str]) -> bool:
    """True when ``span`` quotes one of ``texts`` (case, width and spacing aside; quote marks around it and
    ``...`` between pieces allowed). A blank span or a placeholder never occurs."""
    if is_blank(span) or is_placeholder(span):
        return False
    pieces = [_fold(p).strip(_QUOTES + " ") for p in _ELLIPSIS.split(span)]
    pieces = [p for p in pieces if p]
    if not pieces:
        return False
    folded = [_fold(t) for t in texts]
    return any(all(p in t for p in pieces) for t in folded)
