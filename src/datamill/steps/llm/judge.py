"""The ``llm_judge`` step: an LLM grades each record against a rubric; the score is recomputed."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from datamill.llm.request import Messages
from datamill.llm.templates import read_template, render
from datamill.records import Record, set_field
from datamill.selectors import FieldTarget
from datamill.steps.base import Drop
from datamill.steps.llm.common import LLMRowStep, LLMStepParams, template_context
from datamill.steps.llm.evidence import has_reasoning, is_blank, span_occurs
from datamill.steps.llm.rubrics import RUBRICS
from datamill.steps.llm.scoring import MQM_WEIGHTS, normalize_issue, score_issues


class JudgeParams(LLMStepParams):
    rubric: str = Field(default="sft-quality", description=f"shipped rubric: {', '.join(RUBRICS)}; its "
                        "categories and prompt (a template/template_file replaces the prompt only)")
    template: str | None = Field(default=None, description="Jinja prompt; variables: prompt, answer, record, "
                                 "meta, vars and the names in fields")
    template_file: str | None = Field(default=None, description="file holding the Jinja prompt")
    weights: dict[str, float] = Field(default_factory=lambda: dict(MQM_WEIGHTS),
                                      description="penalty per severity (MQM: minor 1, major 5, critical 10)")
    into: FieldTarget = Field(default="meta.judge", description="field for {score, model_score, issues, reasoning}")
    score_field: FieldTarget = Field(default="scores.judge", description="field for the recomputed 0-100 score")
    drop_below: float | None = Field(default=None, description="drop records scoring below this (None: keep all)")
    min_chars: int = Field(default=1, ge=1, description="shortest text worth judging, in non-space characters; "
                           "a shorter one, or one without a letter or digit, is dropped before any call "
                           "(reason judge_empty_answer)")

    @model_validator(mode="after")
    def _check(self) -> JudgeParams:
        if self.rubric not in RUBRICS:
            raise ValueError(f"unknown rubric '{self.rubric}'; shipped: {', '.join(RUBRICS)}")
        return self


class LLMJudge(LLMRowStep):
    """Grade each record with an LLM against a rubric and keep the verdict.

    Reads the prompt and answer (``sft-quality``) or ``source``/``translation`` (``mqm-translation``;
    map them with ``fields: {source: meta.src, translation: meta.mt}``). The model answers
    ``{"score", "issues": [{"category", "severity", "span"}], "reasoning"}``, constrained by a JSON
    schema, repaired or re-asked when malformed. Writes ``into`` (default ``meta.judge``) with the
    issues and reasoning, and ``score_field`` with a score RECOMPUTED from the issues (100 minus MQM
    weights), because models' own numbers drift from what they list. Temperature defaults to 0 so a
    re-run asks the same questions and hits the cache.

    Silence is not a perfect score. The judged text (the answer, or the translation) must hold at
    least ``min_chars`` non-space characters and a letter or digit; otherwise the record is dropped
    with reason ``judge_empty_answer`` before any call is paid for. Every issue must quote words that
    occur in the judged text (or, for translations, in the source: omissions are marked there); an
    answer with a quote that does not occur (``<the exact words...>`` copied from the format line) is
    re-asked, and on the last try such issues are discarded, kept under ``discarded`` in the verdict
    and counted in the stage's notes (``judge_issues_discarded``). A verdict with no issue and no
    reasoning, or whose every issue was discarded, is no verdict: re-asked, then dropped as
    ``llm_invalid_output``.

    ``template_file`` holds a Jinja prompt replacing the rubric's; ``drop_below`` drops records scoring below it
    (none by default: keep every verdict for people to review).
    """

    name = "llm_judge"
    Params = JudgeParams
    version = "2"
    reads = ("messages", "meta")
    writes = ("meta.judge", "scores.judge")

    def prepare(self) -> None:
        p: JudgeParams = self.params
        self.rubric = RUBRICS[p.rubric]
        self.template = read_template(p.template, p.template_file, self.rubric.template)

    def answer_schema(self) -> dict[str, Any]:
        rubric = RUBRICS[self.params.rubric]
        return {
            "type": "object",
            "properties": {
                "score": {"type": "number"},
                "issues": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"category": {"type": "string", "enum": list(rubric.categories)},
                                   "severity": {"type": "string", "enum": list(rubric.severities)},
                                   "span": {"type": "string", "minLength": 1}},
                    "required": ["category", "severity", "span"]}},
                "reasoning": {"type": "string", "minLength": 1},
            },
            "required": ["issues", "reasoning"],
        }

    def _context(self, record: Record) -> dict[str, Any]:
        ctx = template_context(record, self.params)
        if self.params.rubric == "mqm-translation":
            ctx.setdefault("source", ctx["prompt"])
            ctx.setdefault("translation", ctx["answer"])
        return ctx

    def _texts(self, record: Record) -> tuple[str, list[str]]:
        """(the judged text, the texts an issue may quote: the judged one, and a translation's source)."""
        ctx = self._context(record)
        if self.params.rubric == "mqm-translation":
            judged = str(ctx["translation"])
            return judged, [judged, str(ctx["source"])]
        judged = str(ctx["answer"])
        return judged, [judged]

    def messages(self, record: Record) -> Messages:
        return [{"role": "user", "content": render(self.template, self._context(record))}]

    def precheck(self, record: Record) -> Drop | None:
        judged, _ = self._texts(record)
        chars = sum(1 for ch in judged if not ch.isspace())
        if is_blank(judged) or chars < self.params.min_chars:
            return Drop("judge_empty_answer", {"chars": chars, "min_chars": self.params.min_chars})
        return None

    def _split(self, record: Record, value: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The answer's issues as (those quoting the text, those that do not)."""
        _, quotable = self._texts(record)
        issues = [normalize_issue(i, self.rubric.categories) for i in value.get("issues") or []
                  if isinstance(i, dict)]
        quoting = [span_occurs(i["span"], quotable) for i in issues]
        return ([i for i, ok in zip(issues, quoting, strict=True) if ok],
                [i for i, ok in zip(issues, quoting, strict=True) if not ok])

    def check(self, record: Record, value: dict[str, Any]) -> str | None:
        kept, discarded = self._split(record, value)
        if discarded:
            quotes = "; ".join(repr(i["span"][:80]) for i in discarded[:5])
            return (f"every issue's span must copy words that occur in the text; these do not: {quotes}. "
                    "Quote the exact words, or leave the issue out")
        if not kept and not has_reasoning(str(value.get("reasoning") or "")):
            return "no issues and no reasoning: say in the reasoning why the text has no problem"
        return None

    def accept(self, record: Record, value: dict[str, Any], text: str) -> Record | Drop:
        p: JudgeParams = self.params
        issues, discarded = self._split(record, value)
        reasoning = str(value.get("reasoning") or "")
        if discarded and not issues:
            return Drop("llm_invalid_output", {"error": "no issue quotes the judged text", "raw": text})
        if not issues and not has_reasoning(reasoning):
            return Drop("llm_invalid_output", {"error": "no issues and no reasoning", "raw": text})
        self.note("judge_issues_discarded", len(discarded))
        score = score_issues(issues, p.weights)
        verdict: dict[str, Any] = {"score": score, "model_score": value.get("score"), "issues": issues,
                                   "reasoning": reasoning, "model": p.llm.model, "rubric": p.rubric}
        if discarded:
            verdict["discarded"] = discarded
        set_field(record, p.into, verdict)
        set_field(record, p.score_field, score)
        if p.drop_below is not None and score < p.drop_below:
            return Drop("judge_below_threshold", {"score": score, "issues": issues})
        return record
