"""The ``lang_id`` filter: identify the language of each selected text (lingua), write ``lang``, and drop
texts in other languages or identified with too little confidence."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from datamill.errors import RecipeError, require
from datamill.records import Record, set_field
from datamill.selectors import FieldTarget, Selector, texts
from datamill.steps.base import Drop, RowStep
from datamill.steps.filters.base import FilterParams
from datamill.steps.filters.scripts import LANGUAGE_SCRIPTS, language_share, script_shares, scripts_disjoint

UNKNOWN = "unknown"
#: Default of ``min_script_share``, measured (docs/cleaning.md, "Language ID on mixed-script text"): on
#: zh-Hant product titles and zh/en Alpaca answers it is the share with no Chinese text dropped and the
#: fewest errors in all (0.05 keeps one more English text; 0.15 as few errors, but 2 are Chinese dropped).
DEFAULT_SCRIPT_SHARE = 0.1


class LangIdParams(FilterParams):
    on: Selector = Field(
        default="answer",
        description="texts to identify, each on its own: default answer, the text the model learns to write "
        "(prompts legitimately quote other languages: translation tasks, code, product names); "
        "[prompt, answer] checks both",
    )
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
    min_script_share: float | None = Field(
        default=DEFAULT_SCRIPT_SHARE, gt=0, le=1,
        description="mixed-script texts: a text lingua assigns to a language outside 'keep' is still kept "
        "when a kept language with a non-Latin script of its own (zh: Han, ja, ko, ru...) writes at least this "
        "share of it, outside Markdown code (a CJK character weighs 2.7 Latin letters): 'Superdry Men's Swirl "
        "Dot 短袖衬衫' stays in a zh set. 0.1 is measured (docs/cleaning.md); null: lingua alone decides",
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

    ``on`` defaults to ``answer`` (the text the model learns to write; the last assistant turn, both
    continuations of a preference pair, ``text`` for a document): a prompt may quote another language on
    purpose. ``on: [prompt, answer]`` identifies each on its own. A text is *unknown* when it is shorter
    than ``min_chars``, has no letters (``12345``), or its best language has confidence below
    ``min_confidence``; unknown texts are kept by default (numbers and code are not a language problem)
    and do not decide ``lang``. A text identified as a language outside ``keep`` drops the record with
    reason ``lang:<code>`` (detail: which text, the confidence and the script shares), unless it is
    mixed-script text whose kept language's script writes at least ``min_script_share`` of it (outside
    Markdown code; CJK characters weigh 2.7 Latin letters): lingua calls ``Superdry Men's Swirl Dot
    短袖衬衫`` English with confidence 1.0, and on 1,000 real zh-Hant product titles 96 of its 103
    "English" verdicts held Chinese; with the rule, 0 (docs/cleaning.md). The rule applies to kept
    languages with a non-Latin script of their own, against a language in other scripts (zh vs en; not
    zh vs ja, and never for en: Latin letters are the brand names and codes inside every other script);
    ``min_script_share: null`` turns it off. ``unknown: drop`` drops unknown texts with
    ``lang_low_confidence``.

    Writes ``lang`` (``write``) with the language of the first identified text (the kept language for a
    mixed-script text), ``unknown`` if none, and with ``write_scores`` the confidence as
    ``scores["lang_id.confidence"]``. Notes ``kept_by_script_share``. Works offline: lingua's models ship
    in its wheel. Needs ``datamill[clean]``.
    """

    name: ClassVar[str] = "lang_id"
    Params = LangIdParams
    version: ClassVar[str] = "2"
    reads: ClassVar[tuple[str, ...]] = ("messages", "chosen", "rejected", "text")
    writes: ClassVar[tuple[str, ...]] = ("lang",)

    def __init__(self, params: LangIdParams) -> None:
        super().__init__(params)
        self._keep = set(params.keep or params.languages)
        # Latin writes the names, codes and units inside every other script's text (NIKE 耐吉 ... 籃球鞋), so a
        # Latin share says little about English; the rule is for kept languages written in other scripts
        self._scripted_keep = [k for k in (params.keep or params.languages)
                               if k in LANGUAGE_SCRIPTS and "latin" not in LANGUAGE_SCRIPTS[k]]

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
        """(ISO 639-1 code or ``unknown``, confidence of the best language), lingua alone."""
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

    def kept_by_script(self, text: str, code: str) -> tuple[str | None, dict[str, float]]:
        """The kept language whose own scripts write at least ``min_script_share`` of ``text`` although lingua
        said ``code`` (a language outside ``keep`` written in other scripts), and the text's script shares."""
        threshold = self.params.min_script_share
        if threshold is None:
            return None, {}
        shares = script_shares(text)
        for kept in self._scripted_keep:
            if scripts_disjoint(kept, code) and language_share(shares, kept) >= threshold:
                return kept, shares
        return None, shares

    def process(self, record: Record) -> Record | Drop:
        first: tuple[str, float] | None = None
        rescued = False
        for i, text in enumerate(texts(record, self.params.on)):
            code, conf = self.identify(text)
            if code == UNKNOWN:
                if self.params.unknown == "drop" and any(c.isalpha() for c in text):
                    return Drop("lang_low_confidence", {"text": i, "confidence": round(conf, 4)})
                continue
            if code not in self._keep:
                kept, shares = self.kept_by_script(text, code)
                if kept is None:
                    detail: dict[str, Any] = {"text": i, "confidence": round(conf, 4)}
                    if shares:
                        detail["scripts"] = {s: round(v, 3) for s, v in sorted(shares.items())}
                    return Drop(f"lang:{code}", detail)
                rescued = True
                code = kept
            first = first or (code, conf)
        if rescued:
            self.note("kept_by_script_share")
        if self.params.write:
            set_field(record, self.params.write, first[0] if first else UNKNOWN)
        if self.params.write_scores:
            current = record.get("scores")
            scores: dict[str, Any] = current if isinstance(current, dict) else {}
            record["scores"] = {**scores, "lang_id.confidence": round(first[1], 4) if first else 0.0}
        return record
