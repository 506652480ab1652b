"""The ``length`` filter: too short or too long in characters, words or tokens."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from datamill.errors import require
from datamill.steps.base import Drop
from datamill.steps.filters.base import FilterParams, Scores, TextFilter

#: A "word": a run of letters/digits, or one CJK character (Chinese has no spaces between words).
WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]|[^\W_]+")


class LengthParams(FilterParams):
    unit: Literal["chars", "words", "tokens"] = Field(
        default="chars", description="chars; words (a CJK character counts as one word); tokens (needs 'tokenizer')"
    )
    min: int | None = Field(default=1, ge=0, description="drop when shorter (reason too_short); null: no minimum")
    max: int | None = Field(default=None, ge=1, description="drop when longer (reason too_long); null: no maximum")
    tokenizer: str | None = Field(default=None, description="Hugging Face tokenizer name or path (unit: tokens)")
    total: bool = Field(default=False, description="measure all selected texts together instead of each one")

    @model_validator(mode="after")
    def _check(self) -> LengthParams:
        if self.unit == "tokens" and not self.tokenizer:
            raise ValueError("unit: tokens needs 'tokenizer'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is larger than 'max'")
        return self


class Length(TextFilter[LengthParams]):
    """Drop records whose selected texts are too short (``too_short``) or too long (``too_long``).

    ``on`` defaults to ``answer``; each selected text is measured on its own (``total: true`` adds them
    up). The default ``min: 1`` char drops records whose answer is empty. Words count a CJK character as
    one word and any other run of letters and digits as one. Tokens need a tokenizer
    (``transformers``, extra ``hub``), loaded once per worker. Score: ``length.min`` / ``length.max``.

    ``unit`` is chars, words or tokens; ``max`` (null by default: no maximum) drops longer texts.
    """

    name: ClassVar[str] = "length"
    Params = LengthParams

    def setup(self) -> None:
        if self.params.unit == "tokens":
            transformers: Any = require("transformers", "hub", "length (unit: tokens)")
            self._tok = transformers.AutoTokenizer.from_pretrained(self.params.tokenizer)

    def measure(self, text: str) -> int:
        if self.params.unit == "chars":
            return len(text)
        if self.params.unit == "words":
            return len(WORD.findall(text))
        if not hasattr(self, "_tok"):
            self.setup()
        return len(self._tok(text, add_special_tokens=False)["input_ids"])

    def score(self, texts: list[str]) -> Scores:
        sizes = [self.measure(t) for t in texts] or [0]
        if self.params.total:
            sizes = [sum(sizes)]
        return {"min": float(min(sizes)), "max": float(max(sizes))}

    def decide(self, scores: Scores) -> Drop | None:
        p = self.params
        if p.min is not None and scores["min"] < p.min:
            return Drop("too_short", {"length": int(scores["min"]), "unit": p.unit})
        if p.max is not None and scores["max"] > p.max:
            return Drop("too_long", {"length": int(scores["max"]), "unit": p.unit})
        return None
