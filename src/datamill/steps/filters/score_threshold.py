"""The ``score_threshold`` filter: keep records whose ``scores`` field is within bounds."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from datamill.numbers import as_number
from datamill.records import Record, get_path
from datamill.steps.base import Drop, Params, RowStep


class ScoreThresholdParams(Params):
    score: str = Field(min_length=1, description="a score name in 'scores' (quality, length.max) or a field path "
                       "(scores.quality, meta.mean)")
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
    ``write_scores``, a classifier) or any numeric column (``meta.mean`` of a CSV/TSV file).

    ``score`` is looked up in ``scores`` first (``quality`` reads ``scores.quality``; dotted names such
    as ``length.max`` too), then as a field path. Numeric strings count as numbers (CSV and TSV columns
    are text: ``" 72.5"``, ``1e3``; see ``datamill.numbers``), noted as ``coerced_numeric`` in the
    stage's notes. A missing score, or a value that is not a number (``""``, ``nan``, ``1,234``), drops
    the record with reason ``score_missing`` and the value in the detail, unless ``missing: keep``.
    Reads the score; writes nothing. Drop reasons ``score_below:<score>`` and ``score_above:<score>``
    (detail: the value).
    """

    def may_change(self) -> bool:
        return False  # keeps or drops records, never changes one

    name: ClassVar[str] = "score_threshold"
    Params = ScoreThresholdParams
    reads: ClassVar[tuple[str, ...]] = ("scores",)

    def lookup(self, record: Record) -> Any:
        name = self.params.score
        scores = record.get("scores")
        if isinstance(scores, dict) and scores.get(name) is not None:
            return scores[name]
        value = get_path(record, f"scores.{name}")
        return value if value is not None else get_path(record, name)

    def process(self, record: Record) -> Record | Drop:
        p = self.params
        raw = self.lookup(record)
        value, coerced = as_number(raw)
        if value is None:
            if p.missing == "keep":
                return record
            return Drop("score_missing", {"score": p.score} if raw is None else {"score": p.score, "value": raw})
        if coerced:
            self.note("coerced_numeric")
        if p.min is not None and value < p.min:
            return Drop(f"score_below:{p.score}", {"value": value})
        if p.max is not None and value > p.max:
            return Drop(f"score_above:{p.score}", {"value": value})
        return record
