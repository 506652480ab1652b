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

    ``template_file`` holds a Jinja prompt replacing the rubric's; ``drop_below`` drops records scoring below it
    (none by default: keep every verdict for people to review).
    """

    name = "llm_judge"
    Params = JudgeParams
    version = "1"
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
                                   "span": {"type": "string"}},
                    "required": ["category", "severity", "span"]}},
                "reasoning": {"type": "string"},
            },
            "required": ["issues", "reasoning"],
        }

    def messages(self, record: Record) -> Messages:
        ctx = template_context(record, self.params)
        if self.params.rubric == "mqm-translation":
            ctx.setdefault("source", ctx["prompt"])
            ctx.setdefault("translation", ctx["answer"])
        return [{"role": "user", "content": render(self.template, ctx)}]

    def accept(self, record: Record, value: dict[str, Any], text: str) -> Record | Drop:
        p: JudgeParams = self.params
        issues = [normalize_issue(i, self.rubric.categories) for i in value.get("issues") or []
                  if isinstance(i, dict)]
        score = score_issues(issues, p.weights)
        verdict = {"score": score, "model_score": value.get("score"), "issues": issues,
                   "reasoning": str(value.get("reasoning") or ""), "model": p.llm.model, "rubric": p.rubric}
        set_field(record, p.into, verdict)
        set_field(record, p.score_field, score)
        if p.drop_below is not None and score < p.drop_below:
            return Drop("judge_below_threshold", {"score": score, "issues": issues})
        return record
