"""``llm_judge`` does not trust silence: empty texts are never sent, quotes must exist, and a verdict with no
issue and no reasoning is no verdict. A scripted provider plays the model (the real one is in
test_llama_server.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from datamill.llm.cache import LLMCache
from datamill.llm.client import LLMClient
from datamill.llm.config import LLMConfig
from datamill.llm.request import ChatRequest
from datamill.steps.base import Drop
from datamill.steps.llm.evidence import span_occurs
from datamill.steps.llm.judge import JudgeParams, LLMJudge
from llm.conftest import ScriptedProvider

PLACEHOLDER = "<the exact words of the answer with the problem>"


def record(answer: str, prompt: str = "What is the capital of France?") -> dict[str, Any]:
    return {"id": f"r:{answer[:10]}", "kind": "sft",
            "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}


def verdict(issues: list[dict[str, str]], reasoning: str = "The answer is checked against the question.") -> str:
    return json.dumps({"score": 100, "issues": issues, "reasoning": reasoning})


def judge(answer: Callable[[ChatRequest], str], **params: Any) -> tuple[LLMJudge, ScriptedProvider]:
    provider = ScriptedProvider(answer)
    step = LLMJudge(JudgeParams(llm=LLMConfig(model="m"), **params))
    step.prepare()
    step.client = LLMClient(step.params.llm, LLMCache(None), provider=provider)
    return step, provider


def test_empty_and_punctuation_only_answers_are_dropped_before_any_call() -> None:
    step, provider = judge(lambda r: verdict([]))
    records = [record(""), record("   \n"), record("…"), record("。"), record("Paris")]
    out = step.process_batch(records)
    assert [o.reason if isinstance(o, Drop) else "kept" for o in out] == ["judge_empty_answer"] * 4 + ["kept"]
    assert len(provider.calls) == 1  # only "Paris" was sent
    assert out[0].detail == {"chars": 0, "min_chars": 1}  # type: ignore[union-attr]
    short, provider = judge(lambda r: verdict([]), min_chars=6)
    assert isinstance(short.process_batch([record("Paris")])[0], Drop) and provider.calls == []


def test_a_quote_that_does_not_occur_is_reasked_then_discarded() -> None:
    def answer(request: ChatRequest) -> str:
        return verdict([{"category": "correctness", "severity": "major", "span": PLACEHOLDER},
                        {"category": "clarity", "severity": "minor", "span": "  paris, of course "}])

    step, provider = judge(answer)
    out = step.process_batch([record("Paris, of course.")])[0]
    assert not isinstance(out, Drop)
    assert len(provider.calls) == 3  # asked, then re-asked twice (max_parse_retries: 2)
    result = out["meta"]["judge"]
    assert [i["span"] for i in result["issues"]] == ["  paris, of course "]
    assert [i["span"] for i in result["discarded"]] == [PLACEHOLDER]
    assert out["scores"]["judge"] == 99.0  # the minor issue only; the discarded major costs nothing
    notes = step.take_notes()
    assert notes["judge_issues_discarded"] == 1
    assert notes["llm_paid"] == 3  # the first answer and its two re-asks (the report counts calls too)


def test_the_reask_names_the_bad_quote_and_a_fixed_answer_is_used() -> None:
    seen: list[list[dict[str, str]]] = []

    def answer(request: ChatRequest) -> str:
        seen.append(request.messages)
        span = PLACEHOLDER if len(request.messages) == 1 else "Lyon"
        return verdict([{"category": "correctness", "severity": "major", "span": span}])

    step, provider = judge(answer)
    out = step.process_batch([record("It is Lyon.")])[0]
    assert not isinstance(out, Drop) and out["scores"]["judge"] == 95.0
    assert len(provider.calls) == 2
    assert PLACEHOLDER[:40] in seen[1][-1]["content"] and "do not" in seen[1][-1]["content"]


def test_only_invented_quotes_or_nothing_said_is_not_a_verdict() -> None:
    step, provider = judge(lambda r: verdict([{"category": "correctness", "severity": "major", "span": PLACEHOLDER}]))
    out = step.process_batch([record("Paris")])[0]
    assert isinstance(out, Drop) and out.reason == "llm_invalid_output"
    assert out.detail["error"] == "no issue quotes the judged text"
    assert len(provider.calls) == 3

    step, provider = judge(lambda r: verdict([], reasoning="<one or two sentences>"))
    out = step.process_batch([record("Paris")])[0]
    assert isinstance(out, Drop) and out.detail["error"] == "no issues and no reasoning"
    assert len(provider.calls) == 3


def test_translation_issues_may_quote_the_source() -> None:
    step, _ = judge(lambda r: verdict([{"category": "accuracy", "severity": "major", "span": "三个"}]),
                    rubric="mqm-translation")
    out = step.process_batch([record("I bought apples.", prompt="我买了三个苹果。")])[0]
    assert not isinstance(out, Drop) and out["scores"]["judge"] == 95.0  # an omission, marked in the source


def test_span_occurs() -> None:
    text = "The capital of France is Paris, a city of 2,1 million people."
    assert span_occurs("“capital of  FRANCE”", [text])
    assert span_occurs("capital ... Paris", [text])
    assert not span_occurs("capital ... Lyon", [text])
    assert not span_occurs(PLACEHOLDER, [text + " <the exact words of the answer with the problem>"])
    assert not span_occurs("", [text]) and not span_occurs(" … ", [text])
    assert span_occurs("２，１", ["人口２，１百万"])  # full width folded


def test_label_sends_nothing_for_a_blank_record() -> None:
    from datamill.steps.llm.label import LabelParams, LLMLabel

    provider = ScriptedProvider(lambda r: json.dumps({"label": "a", "confidence": 0.9}))
    step = LLMLabel(LabelParams(llm=LLMConfig(model="m"), labels=["a", "b"]))
    step.prepare()
    step.client = LLMClient(step.params.llm, LLMCache(None), provider=provider)
    out = step.process_batch([record(" ", prompt="…"), record("Paris")])
    assert isinstance(out[0], Drop) and out[0].reason == "llm_empty_input"
    assert not isinstance(out[1], Drop) and len(provider.calls) == 1
