"""Survivor policy (``keep:``): which record of a duplicate group stays.

Each record gets one priority number at signature time (lower wins); ties go to the record seen
first (lowest global position), so every policy is deterministic and independent of sharding.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from datamill.numbers import as_number
from datamill.records import Record, get_path
from datamill.selectors import FieldPath, read_text
from datamill.steps.base import Params

KeepPolicy = Literal["first", "longest", "score", "source"]


class KeepParams(Params):
    """``keep:`` as a mapping; a bare string (``keep: longest``) is accepted too."""

    policy: KeepPolicy = Field(
        default="first",
        description="first: the record seen first; longest: the longest record (all turns, not only the "
        "compared part); score: the highest value "
        "of `score`; source: the first source in `sources`",
    )
    score: FieldPath | None = Field(default=None, description="field path of the score for policy 'score' "
                                    "(scores.X, meta.X; numeric strings count as numbers)")
    sources: list[str] = Field(
        default_factory=list, description="preferred source order for policy 'source'; unlisted sources come last"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"policy": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> KeepParams:
        if self.policy == "score" and not self.score:
            raise ValueError("keep policy 'score' needs `score:` (a field path such as scores.quality)")
        if self.policy == "source" and not self.sources:
            raise ValueError("keep policy 'source' needs `sources:` (the preferred source order)")
        return self


def priority(keep: KeepParams, record: Record) -> float:
    """The record's rank under ``keep`` (lower survives); ties are broken by position by the caller."""
    if keep.policy == "first":
        return 0.0
    if keep.policy == "longest":
        return -float(len(read_text(record, "all")))  # every turn, every reasoning and the text
    if keep.policy == "score":
        number, _ = as_number(get_path(record, keep.score or ""))  # numeric strings (CSV columns) count
        return math.inf if number is None else -float(number)  # records without a score never win
    source = str(record.get("source") or "")
    return float(keep.sources.index(source)) if source in keep.sources else float(len(keep.sources))
