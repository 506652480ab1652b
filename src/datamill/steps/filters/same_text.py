"""The ``prompt_equals_answer`` filter: the answer only repeats the prompt."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from datamill.records import Record
from datamill.selectors import texts
from datamill.steps.base import Drop, Params, RowStep
from datamill.steps.dedup_exact import Normalize, normalize_text


class PromptEqualsAnswerParams(Params):
    normalize: Normalize = Field(default=Normalize(punctuation=True),
                                 description="differences ignored when comparing (default: case, width, "
                                             "whitespace and punctuation)")


class PromptEqualsAnswer(RowStep[PromptEqualsAnswerParams]):
    """Drop records whose answer equals their prompt after normalization (reason ``prompt_equals_answer``):
    echo answers teach the model nothing. Compares the joined prompt turns with the last assistant turn
    (each continuation of a preference pair). Records with an empty prompt or answer are kept (use
    ``empty_answer`` for those).

    ``normalize`` says which differences are ignored when comparing (case, width, whitespace and punctuation by
    default).
    """

    def may_change(self) -> bool:
        return False  # keeps or drops records, never changes one

    name: ClassVar[str] = "prompt_equals_answer"
    Params = PromptEqualsAnswerParams
    reads: ClassVar[tuple[str, ...]] = ("messages", "chosen", "rejected")

    def process(self, record: Record) -> Record | Drop:
        how = self.params.normalize
        prompt = normalize_text("\n".join(texts(record, "prompt")), how)
        if not prompt or (not record.get("messages") and not record.get("chosen")):
            return record
        for answer in texts(record, "answer"):
            if normalize_text(answer, how) == prompt:
                return Drop("prompt_equals_answer")
        return record
