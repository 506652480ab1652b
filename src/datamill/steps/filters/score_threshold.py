"""The ``score_threshold`` filter: keep records whose ``scores`` field is within bounds."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from datamill.records import Record, get_field
from datamill.steps.base import Drop, Params, RowStep


class ScoreThresholdParams(Params):
    score: str = Field(min_length=1, description="score name in 'scores' (quality) or a field path (meta.x)")
    min: float | None = Field(default=None, description="drop below (reason score_below:<score>)")
    max: float | None = Field(default=None, description="drop above (reason score_above:<score>)")
    missing: str = Field(default="drop", pattern="^(drop|keep)$",
                         description="what to do when the score is absent or not a number (reason score_missing)")

    @model_validator(mode="after")
    def _bounds(self) -> ScoreThresholdParams:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is larger than 'max'")
        return self


class ScoreThreshold(RowStep[ScoreThresholdParams]):
    """Keep records with ``min <= score <= max`` for any score written earlier (a judge, a filter with
    ``write_scores``, a classifier). ``score`` is looked up in ``scores`` first (``quality`` reads
    ``scores.quality``; dotted names such as ``length.max`` too), then as a field path. Missing or
    non-numeric scores are dropped (``score_missing``) unless ``missing: keep``.
    """

    name: ClassVar[str] = "score_threshold"
    Params = ScoreThresholdParams
    reads: ClassVar[tuple[str, ...]] = ("scores",)

    def process(self, record: Record) -> Record | Drop:
        p = self.params
        scores = record.get("scores")
        value = scores.get(p.score) if isinstance(scores, dict) and p.score in scores else None
        if value is None:
            value = get_field(record, f"scores.{p.score}")
        if value is None:
            value = get_field(record, p.score)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return record if p.missing == "keep" else Drop("score_missing", {"score": p.score})
        if p.min is not None and value < p.min:
            return Drop(f"score_below:{p.score}", {"value": value})
        if p.max is not None and value > p.max:
            return Drop(f"score_above:{p.score}", {"value": value})
        return record
