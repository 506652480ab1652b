"""The ``llm_label`` step: classify records into given labels with a confidence, for people to verify."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from datamill.llm.request import Messages
from datamill.llm.templates import read_template, render
from datamill.part_writes import write
from datamill.records import Record, set_field
from datamill.selectors import FieldTarget, Target
from datamill.steps.base import Drop
from datamill.steps.llm.common import LLMRowStep, LLMStepParams, template_context
from datamill.steps.llm.evidence import is_blank

DEFAULT_TEMPLATE = """Classify the example below into exactly one of these labels:
{% for label in labels %}- {{ label }}{% if descriptions.get(label) %}: {{ descriptions[label] }}{% endif %}
{% endfor %}
Example:
{{ prompt }}{% if answer %}

Answer:
{{ answer }}{% endif %}

Reply with only a JSON object: {"label": <one of the labels>, "confidence": <0.0-1.0>, "reasoning": <one sentence>}"""


class LabelParams(LLMStepParams):
    labels: list[str] = Field(min_length=2, description="the allowed labels")
    descriptions: dict[str, str] = Field(default_factory=dict, description="label -> what it means (in the prompt)")
    template: str | None = Field(default=None, description="Jinja prompt; variables: labels, descriptions, "
                                 "prompt, answer, record, meta, vars and the names in fields")
    template_file: str | None = Field(default=None, description="file holding the Jinja prompt")
    field: Target = Field(default="category", description="where the label is written: a field path or a "
                          "writable part")
    confidence_field: FieldTarget = Field(default="scores.label_confidence", description="field for the confidence")
    review_below: float = Field(default=0.8, ge=0, le=1, description="confidence under which the record is "
                                "tagged needs_review (people verify those first)")
    into: FieldTarget = Field(default="meta.llm_label",
                            description="field for {label, confidence, reasoning, model}")

    @field_validator("labels")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("labels must be unique")
        return v


class LLMLabel(LLMRowStep):
    """Auto-label records with an LLM: one of ``labels`` plus a confidence, for human verification.

    Writes the label to ``field`` (default ``category``), the confidence to ``confidence_field`` and
    ``{label, confidence, reasoning, model}`` to ``into``; records under ``review_below`` (0.8: models
    are over-confident, so only clear calls skip review) get the tag ``needs_review``. The answer is
    constrained to the label list by a JSON schema; a label outside it is re-asked, then dropped.
    With the default prompt, a record whose prompt and answer are both blank (no letter or digit) is
    dropped before any call (reason ``llm_empty_input``): a model asked to label nothing still answers.

    ``descriptions`` say in the prompt what each label means; ``template_file`` holds a Jinja prompt. ``field``
    may be a writable part (the label written where ``on:`` reads it).
    """

    name = "llm_label"
    Params = LabelParams
    version = "1"
    reads = ("messages",)
    writes = ("category", "scores.label_confidence", "tags", "meta.llm_label")

    def prepare(self) -> None:
        self.template = read_template(self.params.template, self.params.template_file, DEFAULT_TEMPLATE)

    def answer_schema(self) -> dict[str, Any]:
        return {"type": "object",
                "properties": {"label": {"type": "string", "enum": list(self.params.labels)},
                               "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                               "reasoning": {"type": "string"}},
                "required": ["label", "confidence"]}

    def precheck(self, record: Record) -> Drop | None:
        p: LabelParams = self.params
        if p.template or p.template_file or p.fields:
            return None  # the prompt reads what the user chose; blank parts may not matter
        ctx = template_context(record, p)
        if is_blank(ctx["prompt"]) and is_blank(ctx["answer"]):
            return Drop("llm_empty_input", {"step": self.name})
        return None

    def messages(self, record: Record) -> Messages:
        ctx = template_context(record, self.params)
        ctx.update(labels=self.params.labels, descriptions=self.params.descriptions)
        return [{"role": "user", "content": render(self.template, ctx)}]

    def accept(self, record: Record, value: dict[str, Any], text: str) -> Record | Drop:
        p: LabelParams = self.params
        confidence = float(value["confidence"])
        write(record, p.field, value["label"])
        set_field(record, p.confidence_field, confidence)
        set_field(record, p.into, {"label": value["label"], "confidence": confidence,
                                   "reasoning": str(value.get("reasoning") or ""), "model": p.llm.model})
        if confidence < p.review_below:
            tags = list(record.get("tags") or [])
            if "needs_review" not in tags:
                tags.append("needs_review")
            record["tags"] = tags
        return record
