"""The ``batch_verdicts`` step: turn judge answers from batch output rows into routed training records."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from datamill.llm.batch import parse_line
from datamill.llm.structured import parse_answer
from datamill.numbers import as_number
from datamill.records import Record, get_field, set_field
from datamill.selectors import FieldTarget
from datamill.steps.base import Drop, Params, RowStep
from datamill.steps.llm.evidence import has_reasoning, is_blank, span_occurs
from datamill.steps.llm.scoring import MQM_WEIGHTS, normalize_issue, score_issues

SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "other"


def prompt_of(model_input: Any) -> str:
    """The user text of a batch request body (Anthropic or Converse messages, or an OpenAI body)."""
    if not isinstance(model_input, dict):
        return ""
    texts: list[str] = []
    for message in model_input.get("messages") or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "\n".join(t for t in texts if t)


class VerdictParams(Params):
    simple_categories: list[str] = Field(
        default_factory=lambda: ["fluency/punctuation", "fluency/spelling", "accuracy/untranslated text",
                                 "locale convention/name format", "locale convention/date format",
                                 "locale convention/currency format", "terminology/inconsistent use of terminology"],
        description="issue categories a rule or a small model can check (route 'simple'); the rest are "
                    "wording problems (route 'complex')")
    no_issue_category: str = Field(default="no-error", description="category of a verdict without issues")
    into: FieldTarget = Field(default="meta.judge", description="field for {score, issues, reasoning}")
    score_field: FieldTarget = Field(default="scores.judge", description="field for the recomputed score")
    route_field: FieldTarget = Field(default="meta.route", description="field for simple/complex")
    system: str | None = Field(default=None, description="system prompt for the training conversation")
    prompt_fields: dict[FieldTarget, str] = Field(
        default_factory=dict,
        description="field -> regular expression whose first group is read from the judge prompt, e.g. "
                    "{meta.src: 'Source.*?: (.*)'} (for rule checks on the judged source and translation)")
    judged: list[FieldTarget] = Field(
        default_factory=list,
        description="fields holding the judged text(s), e.g. [meta.src, meta.mt] read by prompt_fields: the "
                    "issues' spans must occur in one of them (default: the judge prompt)")
    answer: FieldTarget | None = Field(
        default=None,
        description="field of the judged answer (the translation, e.g. meta.mt): a record where it is missing "
                    "or has no letter or digit is dropped as judge_empty_answer")
    on_span_not_found: Literal["note", "drop"] = Field(
        default="note",
        description="an issue whose span the judged text does not hold: 'note' (kept, listed in "
                    "meta.judge.spans_not_found, counted as judge_spans_not_found) or 'drop' the record "
                    "(judge_span_not_found)")

    @field_validator("prompt_fields")
    @classmethod
    def _patterns(cls, v: dict[str, str]) -> dict[str, str]:
        for name, pattern in v.items():
            try:
                if re.compile(pattern).groups < 1:
                    raise ValueError(f"prompt_fields.{name}: the pattern needs a group, e.g. 'Source: (.*)'")
            except re.error as exc:
                raise ValueError(f"prompt_fields.{name}: {exc}") from None
        return v


class BatchVerdicts(RowStep[VerdictParams]):
    """Read judge verdicts from batch output rows (Bedrock ``*.jsonl.out``: ``recordId``, ``modelInput``,
    ``modelOutput`` or ``error``; OpenAI batch output: ``custom_id``, ``response``) and build a
    training conversation: the judge's prompt as the user turn, its answer as the assistant turn.

    The verdict ``{"issues": [{"category", "severity", "span"}], "reasoning"}`` is parsed (repaired if
    needed) into ``into`` with a recomputed MQM score; ``category`` becomes the slug of the most severe
    issue's category (``accuracy-mistranslation``, or ``no-error``) and ``route_field`` says whether
    it is ``simple`` (rule-checkable, ``simple_categories``) or ``complex`` (wording). Rows the
    provider failed are dropped as ``batch_error``; unreadable verdicts as ``llm_invalid_output``.
    ``prompt_fields`` pulls parts of the judge prompt (the source, the translation) into fields, so
    ``translation_rules`` can check the same pair; a pattern that does not match leaves its field unset.

    No silence is trusted, as in ``llm_judge`` (an external judge cannot be re-asked, so what it got
    wrong is dropped or counted): a blank judge prompt is dropped as ``judge_empty_prompt``, and with
    ``answer`` set a missing or blank judged answer as ``judge_empty_answer``. Each issue's ``span`` must
    occur in the ``judged`` fields (or the prompt); the spans that do not are listed in
    ``meta.judge.spans_not_found`` and counted in the stage's notes (``judge_spans_not_found``), or the
    record is dropped as ``judge_span_not_found`` with ``on_span_not_found: drop`` (the training answer
    is the judge's own text, so a record is kept or dropped whole). Issues with a blank span
    (``judge_issues_without_span``), a judge's own score that is not the recomputed one
    (``judge_score_differs``) and verdicts with neither issues nor reasoning
    (``judge_verdicts_without_reasoning``, kept: no issue is the judge's "no error") are counted.

    ``no_issue_category`` is the category of a verdict without issues (``no-error``), ``score_field`` the field
    of the recomputed score (``scores.judge``), ``system`` the system prompt of the training conversation (none
    by default).
    """

    name = "batch_verdicts"
    Params = VerdictParams
    version = "3"
    reads = ("meta.recordId", "meta.modelInput", "meta.modelOutput", "meta.error")
    writes = ("messages", "category", "meta.judge", "meta.route", "scores.judge")

    def process(self, record: Record) -> Record | Drop:
        p = self.params
        row = {k: get_field(record, k) for k in ("recordId", "modelInput", "modelOutput", "error", "custom_id",
                                                   "response")}
        result = parse_line({k: v for k, v in row.items() if v is not None})
        if result is None:
            return Drop("not_a_batch_row")
        if result.error is not None or result.text is None:
            return Drop("batch_error", {"error": result.error, "record_id": result.record_id})
        parsed = parse_answer(result.text, None)
        if parsed.error is not None:
            return Drop("llm_invalid_output", {"error": parsed.error, "raw": result.text})
        prompt = prompt_of(result.model_input or get_field(record, "modelInput"))
        if is_blank(prompt):
            return Drop("judge_empty_prompt", {"record_id": result.record_id})
        for name, pattern in p.prompt_fields.items():
            found = re.search(pattern, prompt)
            if found is not None:
                set_field(record, name, found.group(1).strip())
        if p.answer is not None:
            answer = get_field(record, p.answer)
            if not isinstance(answer, str):
                return Drop("judge_empty_answer", {"field": p.answer, "missing": True})
            if is_blank(answer):
                return Drop("judge_empty_answer", {"field": p.answer, "chars": len(answer.strip())})
        value = parsed.value
        issues = [normalize_issue(i) for i in value.get("issues") or [] if isinstance(i, dict)]
        texts = [t for t in (get_field(record, f) for f in p.judged) if isinstance(t, str)] or [prompt]
        unquoted = sum(1 for i in issues if is_blank(i["span"]))
        not_found = [i["span"] for i in issues if not is_blank(i["span"]) and not span_occurs(i["span"], texts)]
        if not_found and p.on_span_not_found == "drop":
            return Drop("judge_span_not_found", {"spans": not_found, "record_id": result.record_id})
        issues.sort(key=lambda i: SEVERITY_RANK.get(i["severity"], 3))
        category = slug(issues[0]["category"]) if issues else p.no_issue_category
        simple = {slug(c) for c in p.simple_categories}
        route = "simple" if category in simple else "complex"
        score = score_issues(issues, MQM_WEIGHTS)
        reasoning = str(value.get("reasoning") or "")
        model_score, _ = as_number(value.get("score"))
        self.note("judge_spans_not_found", len(not_found))
        self.note("judge_issues_without_span", unquoted)
        self.note("judge_score_differs", int(model_score is not None and model_score != score))
        self.note("judge_verdicts_without_reasoning", int(not issues and not has_reasoning(reasoning)))
        messages = [{"role": "system", "content": p.system}] if p.system else []
        messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": result.text}]
        record["messages"] = messages
        record["kind"] = "sft"
        record["category"] = category
        verdict = {"score": score, "model_score": value.get("score"), "issues": issues, "reasoning": reasoning,
                   "record_id": result.record_id}
        if not_found:
            verdict["spans_not_found"] = not_found
        set_field(record, p.into, verdict)
        set_field(record, p.score_field, score)
        set_field(record, p.route_field, route)
        return record
