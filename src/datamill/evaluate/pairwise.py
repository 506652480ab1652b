"""Pairwise judge: which of two answers to the same question is better, asked twice with the positions
swapped so the judge's preference for a position cancels out.

For each item the judge sees (A = before, B = after) and (A = after, B = before) and answers
``{"winner": "A" | "B" | "tie", "reason"}`` (schema-constrained, re-asked when malformed, like every LLM
step). Each verdict scores the *after* answer 1 (after wins), 0.5 (tie) or 0 (before wins); the item's
score is the mean of its two verdicts. A judge that always picks the first position therefore scores
every item 0.5: position bias becomes a tie instead of a win. The outcome is ``after`` or ``before``
when the mean leans that way, else ``tie`` (which includes the inconsistent pairs: each order picked
the same position). Identical answers are not sent (score 0.5, outcome ``same``).

The calls go through the LLM layer (rate limit, budget) and are cached in ``folder/cache/llm.sqlite``:
a re-run, or a resumed one, asks only what it has not asked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from datamill.llm.config import LLMConfig
from datamill.llm.request import Messages
from datamill.llm.templates import render
from datamill.records import Record
from datamill.steps.base import Drop, StepContext
from datamill.steps.llm.common import LLMRowStep, LLMStepParams

TEMPLATE = """You compare two answers to the same question. Decide which answer is better: correct, helpful,
safe and to the point. The order of the answers and their length do not matter.

QUESTION:
{{ question }}
{% if reference %}
REFERENCE ANSWER (known to be good):
{{ reference }}
{% endif %}
ANSWER A:
{{ answer_a }}

ANSWER B:
{{ answer_b }}

Answer with only a JSON object: {"winner": "A" or "B" or "tie", "reason": <one sentence>}"""

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"winner": {"type": "string", "enum": ["A", "B", "tie"]}, "reason": {"type": "string"}},
    "required": ["winner", "reason"],
}
#: the after answer's score for a verdict, by order: ab = (A before, B after), ba = (A after, B before)
AFTER_SCORE = {("ab", "A"): 0.0, ("ab", "B"): 1.0, ("ba", "A"): 1.0, ("ba", "B"): 0.0}


class PairwiseParams(LLMStepParams):
    show_reference: bool = True


class PairwiseJudge(LLMRowStep):
    """Not a recipe step: the LLM row-step machinery (client, cache, schema, re-asks) for one comparison."""

    name: ClassVar[str] = "eval_pairwise"
    Params = PairwiseParams

    def answer_schema(self) -> dict[str, Any]:
        return SCHEMA

    def messages(self, record: Record) -> Messages:
        m = record["meta"]
        reference = m["reference"] if self.params.show_reference else None
        context = {"question": m["question"], "reference": reference, "answer_a": m["a"], "answer_b": m["b"]}
        return [{"role": "user", "content": render(TEMPLATE, context)}]

    def accept(self, record: Record, value: dict[str, Any], text: str) -> Record | Drop:
        record["meta"]["winner"] = str(value.get("winner"))
        record["meta"]["reason"] = str(value.get("reason") or "")
        return record


@dataclass
class PairwiseResult:
    """Per item: the after answer's score (None when not judged) and what the judge said in each order."""

    scores: list[float | None]
    details: list[dict[str, Any]]
    outcomes: Counter[str] = field(default_factory=Counter)
    first_position: int = 0
    decisive: int = 0
    #: judge requests: asked, answered by the judge now (new), found in the cache
    calls: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"outcomes": dict(sorted(self.outcomes.items())),
                "first_position_share": round(self.first_position / self.decisive, 4) if self.decisive else None,
                "decisive_verdicts": self.decisive, "calls": self.calls}


def question_text(messages: list[dict[str, str]]) -> str:
    if len(messages) == 1:
        return messages[0]["content"]
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


def judge_pairs(questions: Sequence[list[dict[str, str]]], references: Sequence[str | None],
                before: Sequence[str | None], after: Sequence[str | None], llm: LLMConfig, folder: Path,
                *, show_reference: bool = True) -> PairwiseResult:
    """Judge every item whose two answers exist (see the module docstring for the scoring)."""
    n = len(questions)
    result = PairwiseResult([None] * n, [{} for _ in range(n)])
    records: list[Record] = []
    for i in range(n):
        a, b = before[i], after[i]
        if a is None or b is None:
            result.outcomes["not_judged"] += 1
            continue
        if a.strip() == b.strip():
            result.scores[i] = 0.5
            result.details[i] = {"outcome": "same"}
            result.outcomes["same"] += 1
            continue
        q = question_text(questions[i])
        for order, (first, second) in (("ab", (a, b)), ("ba", (b, a))):
            records.append({"id": f"{i}:{order}", "meta": {"question": q, "reference": references[i], "a": first,
                                                          "b": second, "item": i, "order": order}})
    step = PairwiseJudge(PairwiseParams(llm=llm, show_reference=show_reference))
    step.context = StepContext.detached(folder)
    step.setup()
    try:
        verdicts = step.process_batch(records) if records else []
        assert step.client is not None
        calls = step.client.progress.snapshot()
        result.calls = {"asked": len(records), "new": calls["paid"], "cached": calls["cached"]}
    finally:
        step.teardown()
    by_item: dict[int, dict[str, Any]] = {}
    for record, verdict in zip(records, verdicts, strict=True):
        meta = record["meta"]
        slot = by_item.setdefault(meta["item"], {})
        if isinstance(verdict, Drop):
            slot[meta["order"]] = {"error": verdict.reason}
        else:
            slot[meta["order"]] = {"winner": verdict["meta"]["winner"], "reason": verdict["meta"]["reason"]}
    for i, slot in by_item.items():
        verdict_scores = []
        for order in ("ab", "ba"):
            winner = slot.get(order, {}).get("winner")
            if winner is None:
                continue
            verdict_scores.append(AFTER_SCORE.get((order, winner), 0.5))
            if winner in ("A", "B"):
                result.decisive += 1
                result.first_position += winner == "A"
        if len(verdict_scores) < 2:
            result.outcomes["judge_failed"] += 1
            result.details[i] = {"outcome": "judge_failed", **slot}
            continue
        score = sum(verdict_scores) / 2
        outcome = "after" if score > 0.5 else "before" if score < 0.5 else "tie"
        result.scores[i] = score
        result.details[i] = {"outcome": outcome, **slot}
        result.outcomes[outcome] += 1
    return result
