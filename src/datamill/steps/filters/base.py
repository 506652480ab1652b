"""The shared shape of filters: ``score(texts) -> scores`` (reportable) then ``decide(scores) -> Drop | None``.

Scoring is separate from deciding (like NeMo Curator's ``score_document``/``keep_document``): with
``write_scores: true`` the scores land in the record's ``scores`` so they can be plotted or
thresholded later, even for the records that are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import Field

from datamill.expr import MISSING_NOTE, check_fields_seen
from datamill.records import Record
from datamill.selectors import Selector, field_paths, missing_paths, texts
from datamill.steps.base import Drop, Params, RowStep

Scores = dict[str, float]


class FilterParams(Params):
    on: Selector = Field(default="answer", description="texts to score: a part (prompt, answer, turns, system, "
                         "reasoning, chosen, rejected, text, all), a field path (meta.x) or a list of them")
    write_scores: bool = Field(default=False, description="also write the scores to the record's 'scores'")


P = TypeVar("P", bound=FilterParams)


class TextFilter(RowStep[P]):
    """Base of the text filters: every selected text is scored; the record is dropped by ``decide``.

    Every filter reads the texts ``on`` selects (default ``answer``: what the model learns to produce; a
    pretraining record's text) and writes nothing, except its scores into ``scores`` under
    ``<filter>.<name>`` with ``write_scores: true`` (off by default: most runs only need the decision).
    """

    def may_change(self) -> bool:
        return bool(self.params.write_scores)  # otherwise it keeps or drops records, never changes one

    reads: ClassVar[tuple[str, ...]] = ("messages", "chosen", "rejected", "text")
    #: the prefix of score names in ``scores`` (``<prefix>.<name>``)
    score_prefix: ClassVar[str] = ""

    def score(self, texts: list[str]) -> Scores:
        raise NotImplementedError

    def decide(self, scores: Scores) -> Drop | None:
        raise NotImplementedError

    def process(self, record: Record) -> Record | Drop:
        for name in missing_paths(record, self.params.on):
            self.note(f"{MISSING_NOTE}{name}")
        scores = self.score(texts(record, self.params.on))
        drop = self.decide(scores)
        if drop is not None:
            return drop
        if self.params.write_scores and scores:
            prefix = self.score_prefix or self.name
            current = record.get("scores")
            existing: dict[str, Any] = current if isinstance(current, dict) else {}
            record["scores"] = {**existing, **{f"{prefix}.{k}": v for k, v in scores.items()}}
        return record

    def check_stage(self, records_in: int, notes: Mapping[str, int], example: Record | None) -> None:
        """A field path in ``on`` that no record of the stage has is a mistake (``meta.titel``), not a
        filter that has nothing to look at."""
        check_fields_seen(f"{self.name} on", field_paths(self.params.on), records_in, notes, example,
                          hint="check the field path in on: (an original column is meta.<column>)")
