"""The ``review_apply`` step: apply people's review decisions (``datamill review``) when the recipe runs again."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import xxhash
from pydantic import Field

from datamill.records import Record, answer_text, get_field, last_assistant_index, set_field
from datamill.steps.base import Drop, Params, RowStep, StepContext

REJECTED = "human_rejected"
UNREVIEWED = "unreviewed"
HELD = "held_for_review"


class ReviewApplyParams(Params):
    source: Literal["review"] = Field(default="review", description="the work directory's review decisions "
                                      "(datamill review; --import adds decisions exported elsewhere)")
    unreviewed: Literal["keep", "drop", "hold"] = Field(
        default="keep", description="records nobody decided: keep them as they are, drop them (reason "
        "unreviewed), or hold them back until they are reviewed (reason held_for_review)")
    reviewer: str | None = Field(default=None, description="apply only this reviewer's decisions (default: the "
                                 "latest decision on each record, whoever made it)")


def _set_answer(record: Record, text: str) -> bool:
    """Replace the answer: the last assistant turn (of ``chosen`` for a preference record), else ``text``."""
    for key in ("chosen", "messages"):
        turns = record.get(key)
        if isinstance(turns, list) and turns:
            i = last_assistant_index(turns)
            if i is not None and isinstance(turns[i], dict):
                turns[i]["content"] = text
                return True
    if isinstance(record.get("text"), str):
        record["text"] = text
        return True
    return False


class ReviewApply(RowStep[ReviewApplyParams]):
    """Apply the review decisions stored in the work directory to the records with the same id.

    ``source: review`` reads the work directory's ``review/decisions.jsonl`` (written by ``datamill review``;
    ``datamill review --import`` adds decisions exported elsewhere), and ``reviewer`` keeps one person's
    decisions only (default: the latest decision on each record, whoever made it). A rejected record is dropped
    (reason ``human_rejected``, with who and when). An accepted record passes with
    ``meta.review = {decision, reviewer, at}``. An edited record gets the edited fields (``answer``: its
    last assistant turn; a label field such as ``category``) and ``meta.review`` keeps the values they
    replaced (``original``). A human decision removes the ``needs_review`` tag ``llm_label`` set. Records
    nobody decided follow ``unreviewed`` (default ``keep``: nothing is lost before anyone reviewed;
    ``hold`` drops them as ``held_for_review`` until a later run, so set ``max_loss`` next to the step
    for the first round).

    The decisions in force are part of the stage's fingerprint: after new decisions, a resumed run
    re-runs this step and the ones after it, and skips the ones before (LLM labels are not asked again).
    """

    name: ClassVar[str] = "review_apply"
    Params = ReviewApplyParams
    reads: ClassVar[tuple[str, ...]] = ("id",)
    writes: ClassVar[tuple[str, ...]] = ("meta.review", "tags")
    #: new decisions re-run this step and what follows, never the steps before it
    starts_segment: ClassVar[bool] = True

    def __init__(self, params: ReviewApplyParams) -> None:
        super().__init__(params)
        self.decisions: dict[str, Any] = {}

    def _load(self, context: StepContext | None) -> dict[str, Any]:
        from datamill.review.store import load_effective

        if context is None or context.review_dir is None:
            return {}
        return load_effective(context.review_dir, self.params.reviewer)

    def fingerprint_extra(self, context: StepContext) -> Any:
        h = xxhash.xxh3_128()
        decisions = self._load(context)
        for item_id in sorted(decisions):
            e = decisions[item_id]
            h.update(repr((item_id, e.decision, sorted((e.edit or {}).items()), e.reviewer)).encode())
        return {"decisions": len(decisions), "hash": h.hexdigest()}

    def setup(self) -> None:
        self.decisions = self._load(self.context)

    def process(self, record: Record) -> Record | Drop:
        e = self.decisions.get(str(record.get("id")))
        if e is None:
            policy = self.params.unreviewed
            if policy == "drop":
                return Drop(UNREVIEWED)
            if policy == "hold":
                return Drop(HELD)
            self.note("unreviewed")
            return record
        if e.decision == "reject":
            self.note("rejected")
            return Drop(REJECTED, {"reviewer": e.reviewer, "at": e.at})
        review: dict[str, Any] = {"decision": e.decision, "reviewer": e.reviewer, "at": e.at}
        if e.decision == "edit" and e.edit:
            original: dict[str, Any] = {}
            for key, value in e.edit.items():
                if key == "answer":
                    original[key] = answer_text(record)
                    if not _set_answer(record, str(value)):
                        raise ValueError("the edit changes the answer, but the record has no answer turn or text")
                else:
                    original[key] = get_field(record, key)
                    set_field(record, key, value)
                if e.original is not None and e.original.get(key) != original[key]:
                    self.note("edited_after_the_record_changed")
            review["original"] = original
            self.note("edited")
        else:
            self.note("accepted")
        tags = record.get("tags")
        if isinstance(tags, list) and "needs_review" in tags:
            record["tags"] = [t for t in tags if t != "needs_review"]
        meta = record.get("meta")
        if not isinstance(meta, dict):
            meta = record["meta"] = {} if meta is None else {"original_meta": meta}
        meta["review"] = review
        return record
