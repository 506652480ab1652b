"""``batch_verdicts`` trusts no silence from an external batch judge: an empty judged translation is
dropped before it becomes a training record, quotes that the judged text does not hold are counted
(or dropped on request), a judge whose own score disagrees with the recomputed one is noted, and an
empty issue list still means "no error" in the judge's opinion. Hand-made Bedrock rows in seed 000's
shape (recipes/seed000-translation-qc/make_batch_output.py)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from datamill.steps.base import Drop
from datamill.steps.llm.batch_verdicts import BatchVerdicts, VerdictParams

SRC, MT = "我们的产品很受欢迎。", "Our products are very popular."
FIELDS = {"meta.src": r"Source \(zh\): (.*)", "meta.mt": r"Translation \(en\): (.*)"}
#: seed 000's recipe: the judged source and translation pulled from the prompt, the translation is the answer
SEED = {"prompt_fields": FIELDS, "judged": ["meta.src", "meta.mt"], "answer": "meta.mt"}


def row(rid: str, verdict: dict[str, Any], src: str = SRC, mt: str = MT) -> dict[str, Any]:
    prompt = ('Review the translation; list issues as {"category", "severity", "span": <the exact words>}.\n\n'
              f"Source (zh): {src}\nTranslation (en): {mt}")
    text = "Thinking...\n```json\n" + json.dumps(verdict, ensure_ascii=False) + "\n```"
    return {"id": rid, "meta": {"recordId": rid, "modelInput": {"messages": [
        {"role": "user", "content": [{"type": "text", "text": prompt}]}]},
        "modelOutput": {"content": [{"type": "text", "text": text}], "stop_reason": "end_turn"}}}


def issue(span: str, severity: str = "minor", category: str = "Fluency/Grammar") -> dict[str, str]:
    return {"category": category, "severity": severity, "span": span}


def run(params: dict[str, Any], rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], Any]:
    step = BatchVerdicts(VerdictParams.model_validate(params))
    step.setup()
    kept: dict[str, Any] = {}
    dropped: dict[str, Drop] = {}
    for record in rows:
        result = step.process(copy.deepcopy(record))
        if isinstance(result, Drop):
            dropped[record["id"]] = result
        else:
            kept[record["id"]] = result
    return kept, dropped, dict(step.take_notes())


def test_a_sound_verdict_and_a_verdict_without_issues_are_kept() -> None:
    kept, dropped, notes = run(SEED, [
        row("ok", {"score": 99, "issues": [issue("very popular")], "reasoning": "one small slip"}),
        row("clean", {"score": 100, "issues": [], "reasoning": "No errors found."}),
        row("source-span", {"score": 95, "issues": [issue("很受欢迎", "major", "Accuracy/Omission")],
                            "reasoning": "omitted"}),  # an omission is marked in the source
    ])
    assert dropped == {} and not notes
    assert kept["ok"]["meta"]["judge"]["score"] == 99.0 and kept["ok"]["category"] == "fluency-grammar"
    assert kept["clean"]["meta"]["judge"]["score"] == 100.0 and kept["clean"]["category"] == "no-error"
    assert "spans_not_found" not in kept["ok"]["meta"]["judge"]
    assert [m["role"] for m in kept["ok"]["messages"]] == ["user", "assistant"]


@pytest.mark.parametrize("mt", ["", "   ", "…"])
def test_an_empty_translation_is_dropped_not_scored_100(mt: str) -> None:
    verdict = {"score": 100, "issues": [], "reasoning": "No errors found."}
    kept, dropped, _ = run(SEED, [row("empty", verdict, mt=mt), row("ok", verdict)])
    assert list(kept) == ["ok"]
    assert dropped["empty"].reason == "judge_empty_answer"
    assert dropped["empty"].detail == {"field": "meta.mt", "chars": len(mt.strip())}


def test_an_answer_field_the_prompt_does_not_hold_is_dropped() -> None:
    rows = [row("r", {"score": 100, "issues": [], "reasoning": "fine"})]
    rows[0]["meta"]["modelInput"]["messages"][0]["content"][0]["text"] = "Source (zh): 你好"  # no translation line
    kept, dropped, _ = run(SEED, rows)
    assert kept == {} and dropped["r"].reason == "judge_empty_answer"
    assert dropped["r"].detail == {"field": "meta.mt", "missing": True}


def test_a_blank_judge_prompt_is_dropped() -> None:
    rows = [row("r", {"score": 100, "issues": [], "reasoning": "fine"})]
    rows[0]["meta"]["modelInput"]["messages"][0]["content"][0]["text"] = "  "
    kept, dropped, _ = run({}, rows)
    assert kept == {} and dropped["r"].reason == "judge_empty_prompt"


def test_quotes_the_judged_text_does_not_hold_are_counted_and_kept_by_default() -> None:
    rows = [row("bad", {"score": 94, "issues": [issue("very popular"), issue("<the exact words>", "major"),
                                                 issue("extremely famous", "minor")], "reasoning": "r"}),
            row("blank", {"score": 99, "issues": [issue("")], "reasoning": "r"})]
    kept, dropped, notes = run(SEED, rows)
    assert dropped == {}
    assert kept["bad"]["meta"]["judge"]["spans_not_found"] == ["<the exact words>", "extremely famous"]
    assert kept["bad"]["meta"]["judge"]["score"] == 93.0  # every issue still scored: the verdict is kept whole
    assert notes == {"judge_spans_not_found": 2, "judge_issues_without_span": 1, "judge_score_differs": 1}


def test_quotes_not_found_drop_the_record_on_request() -> None:
    rows = [row("bad", {"score": 99, "issues": [issue("extremely famous")], "reasoning": "r"}),
            row("ok", {"score": 99, "issues": [issue("Our products")], "reasoning": "r"})]
    kept, dropped, _ = run({**SEED, "on_span_not_found": "drop"}, rows)
    assert list(kept) == ["ok"]
    assert dropped["bad"].reason == "judge_span_not_found"
    assert dropped["bad"].detail == {"spans": ["extremely famous"], "record_id": "bad"}


def test_without_judged_fields_spans_are_checked_against_the_judge_prompt() -> None:
    kept, _, notes = run({}, [row("r", {"score": 99, "issues": [issue("很受欢迎"), issue("nowhere at all")],
                                        "reasoning": "r"})])
    assert kept["r"]["meta"]["judge"]["spans_not_found"] == ["nowhere at all"]
    assert notes["judge_spans_not_found"] == 1


def test_a_judge_score_that_disagrees_is_noted_and_a_silent_verdict_is_noted() -> None:
    kept, dropped, notes = run(SEED, [
        row("differs", {"score": 100, "issues": [issue("very popular", "major")], "reasoning": "r"}),
        row("silent", {"issues": []}),  # no issue and no reasoning: "no error" in the judge's opinion, kept
        row("agrees", {"score": "95", "issues": [issue("very popular", "major")], "reasoning": "r"}),
    ])
    assert dropped == {} and set(kept) == {"differs", "silent", "agrees"}
    assert kept["differs"]["meta"]["judge"]["score"] == 95.0 and kept["differs"]["meta"]["judge"]["model_score"] == 100
    assert kept["silent"]["meta"]["judge"]["score"] == 100.0
    assert notes == {"judge_score_differs": 1, "judge_verdicts_without_reasoning": 1}
