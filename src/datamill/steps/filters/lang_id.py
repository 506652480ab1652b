"""The ``lang_id`` filter: identify the language of each selected text (lingua), write ``lang``, and drop
texts in other languages or identified with too little confidence."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from datamill.errors import RecipeError, require
from datamill.records import Record, set_field
from datamill.selectors import FieldTarget, texts
from datamill.steps.base import Drop, RowStep
from datamill.steps.filters.base import FilterParams

UNKNOWN = "unknown"


class LangIdParams(FilterParams):
    languages: list[str] = Field(
        default=["zh", "en"],
        min_length=1,
        description="ISO 639-1 codes the detector chooses among; only these models are loaded (all 75 "
        "languages take ~1.3 GB RAM, two take ~15 MB). Include every language you expect, or text in a "
        "missing one is forced onto the closest listed language",
    )
    keep: list[str] | None = Field(default=None, description="languages to keep (default: all of 'languages'); "
                                                             "others are dropped with reason lang:<code>")
    min_confidence: float = Field(
        default=0.5, ge=0, le=1,
        description="below this the text counts as unknown (reason lang_low_confidence); a text without "
        "letters (numbers only) is always unknown",
    )
    unknown: str = Field(default="keep", pattern="^(keep|drop)$", description="what to do with unknown texts")
    write: FieldTarget | None = Field(default="lang", description="field written with the language of the first "
                                                          "identified text; null: do not write")
    min_chars: int = Field(default=1, ge=0, description="texts shorter than this are not identified (unknown)")

    @field_validator("languages", "keep")
    @classmethod
    def _codes(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            for code in v:
                if len(code) != 2 or not code.isalpha() or not code.islower():
                    raise ValueError(f"{code!r} is not an ISO 639-1 code (two lowercase letters, e.g. zh, en, ja)")
        return v

    @model_validator(mode="after")
    def _keep_subset(self) -> LangIdParams:
        if self.keep is not None and not set(self.keep) <= set(self.languages):
            raise ValueError(f"'keep' lists languages that are not in 'languages': "
                             f"{sorted(set(self.keep) - set(self.languages))}")
        return self


class LangId(RowStep[LangIdParams]):
    """Identify the language of every selected text with lingua, restricted to ``languages``.

    ``on`` defaults to ``[prompt, answer]``: each is identified on its own, so a Chinese question with an
    English answer is caught. A text is *unknown* when it is shorter than ``min_chars``, has no letters
    (``12345``), or its best language has confidence below ``min_confidence``; unknown texts are kept by
    default (numbers and code are not a language problem) and do not decide ``lang``. A text identified
    as a language outside ``keep`` drops the record with reason ``lang:<code>`` (detail: which text and
    the confidence); ``unknown: drop`` drops unknown texts with ``lang_low_confidence``.

    Writes ``lang`` (``write``) with the language of the first identified text, ``unknown`` if none, and
    with ``write_scores`` the confidence as ``scores["lang_id.confidence"]``. Works offline: lingua's
    models ship in its wheel. Needs ``datamill[clean]``.
    """

    name: ClassVar[str] = "lang_id"
    Params = LangIdParams
    reads: ClassVar[tuple[str, ...]] = ("messages", "chosen", "rejected", "text")
    writes: ClassVar[tuple[str, ...]] = ("lang",)

    def __init__(self, params: LangIdParams) -> None:
        if "on" not in params.model_fields_set:
            params = params.model_copy(update={"on": ["prompt", "answer"]})
        super().__init__(params)
        self._keep = set(params.keep or params.languages)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_detector"}

    def setup(self) -> None:
        lingua: Any = require("lingua", "clean", "lang_id")
        langs = []
        for code in self.params.languages:
            try:
                langs.append(lingua.Language.from_iso_code_639_1(getattr(lingua.IsoCode639_1, code.upper())))
            except (AttributeError, ValueError):
                raise RecipeError(f"lang_id: lingua does not know the language {code!r}") from None
        self._detector = lingua.LanguageDetectorBuilder.from_languages(*langs).build()

    def identify(self, text: str) -> tuple[str, float]:
        """(ISO 639-1 code or ``unknown``, confidence of the best language)."""
        if len(text.strip()) < self.params.min_chars or not any(c.isalpha() for c in text):
            return UNKNOWN, 0.0
        if not hasattr(self, "_detector"):
            self.setup()
        values = self._detector.compute_language_confidence_values(text)
        if not values:
            return UNKNOWN, 0.0
        best = values[0]
        conf = float(best.value)
        if conf < self.params.min_confidence:
            return UNKNOWN, conf
        return best.language.iso_code_639_1.name.lower(), conf

    def process(self, record: Record) -> Record | Drop:
        first: tuple[str, float] | None = None
        for i, text in enumerate(texts(record, self.params.on)):
            code, conf = self.identify(text)
            if code == UNKNOWN:
                if self.params.unknown == "drop" and any(c.isalpha() for c in text):
                    return Drop("lang_low_confidence", {"text": i, "confidence": round(conf, 4)})
                continue
            if code not in self._keep:
                return Drop(f"lang:{code}", {"text": i, "confidence": round(conf, 4)})
            first = first or (code, conf)
        if self.params.write:
            set_field(record, self.params.write, first[0] if first else UNKNOWN)
        if self.params.write_scores:
            current = record.get("scores")
            scores: dict[str, Any] = current if isinstance(current, dict) else {}
            record["scores"] = {**scores, "lang_id.confidence": round(first[1], 4) if first else 0.0}
        return record
