"""helpsteer, arena, hh, traces, ranked: tables of row -> record (or quarantine reason), detection,
and the pairs/margin options."""

from __future__ import annotations

from typing import Any

import pytest

from datamill.errors import RecipeError
from datamill.formats import AdapterConfig, AdapterError, detect_format, get_adapter

from .conftest import to_canonical


def m(role: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **extra}


U, A, B = m("user", "q"), m("assistant", "a"), m("assistant", "b")


def hs(pref: Any, **extra: Any) -> dict[str, Any]:
    return {"domain": "code", "context": [m("user", "q")], "response1": "one", "response2": "two",
            "overall_preference": pref, "individual_preference": [{"score": pref, "reasoning": "r"}], **extra}


HS_META = {"domain": "code", "individual_preference": [{"score": -2, "reasoning": "r"}]}

#: (case, format, row, options, expected record)
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("helpsteer -2: response1 wins", "helpsteer", hs(-2), {}, {
        "kind": "preference", "messages": [U], "chosen": [m("assistant", "one")], "rejected": [m("assistant", "two")],
        "scores": {"overall_preference": -2}, "meta": HS_META}),
    ("helpsteer 3: response2 wins", "helpsteer", hs(3), {}, {
        "kind": "preference", "messages": [U], "chosen": [m("assistant", "two")], "rejected": [m("assistant", "one")],
        "scores": {"overall_preference": 3},
        "meta": {"domain": "code", "individual_preference": [{"score": 3, "reasoning": "r"}]}}),
    ("helpsteer 0: explicit tie, the responses as a pair in the row's order", "helpsteer", hs(0), {}, {
        "kind": "preference", "messages": [U], "chosen": [m("assistant", "one")], "rejected": [m("assistant", "two")],
        "tie": True, "scores": {"overall_preference": 0},
        "meta": {"domain": "code", "individual_preference": [{"score": 0, "reasoning": "r"}]}}),
    ("helpsteer 0 with an empty response: a tie without a pair, responses kept in meta", "helpsteer",
     hs(0, response2=""), {}, {
        "kind": "preference", "messages": [U], "tie": True, "scores": {"overall_preference": 0},
        "meta": {"domain": "code", "response1": "one", "response2": "",
                 "individual_preference": [{"score": 0, "reasoning": "r"}]}}),
    ("helpsteer multi-turn context and string context", "helpsteer",
     {"context": "just text", "response1": "<think>t</think>x", "response2": "y", "overall_preference": -1}, {}, {
         "kind": "preference", "messages": [m("user", "just text")], "chosen": [m("assistant", "x", reasoning="t")],
         "rejected": [m("assistant", "y")], "scores": {"overall_preference": -1}}),
    ("arena model_a, multi-turn: continuation is every turn after the shared prefix", "arena", {
        "model_a": "x", "model_b": "y", "winner": "model_a", "turn": 2,
        "conversation_a": [U, A, m("user", "more"), m("assistant", "a2")],
        "conversation_b": [U, B, m("user", "more"), m("assistant", "b2")]}, {}, {
        "kind": "preference", "messages": [U], "chosen": [A, m("user", "more"), m("assistant", "a2")],
        "rejected": [B, m("user", "more"), m("assistant", "b2")],
        "meta": {"model_a": "x", "model_b": "y", "winner": "model_a", "turn": 2}}),
    ("arena model_b with text parts (webdev-arena)", "arena", {
        "winner": "model_b",
        "conversation_a": [m("user", [{"type": "text", "text": "q"}]), A],  # type: ignore[arg-type]
        "conversation_b": [m("user", [{"type": "text", "text": "q"}]), B]}, {}, {  # type: ignore[arg-type]
        "kind": "preference", "messages": [U], "chosen": [B], "rejected": [A], "meta": {"winner": "model_b"}}),
    ("arena tie (bothbad): tie, A and B as a pair in the row's order", "arena", {
        "winner": "tie (bothbad)", "conversation_a": [U, A], "conversation_b": [U, B]}, {}, {
        "kind": "preference", "messages": [U], "chosen": [A], "rejected": [B], "tie": True,
        "meta": {"winner": "tie (bothbad)"}}),
    ("arena tie of two identical conversations: no pair, conversations kept", "arena", {
        "winner": "tie", "conversation_a": [U, A], "conversation_b": [U, A]}, {}, {
        "kind": "preference", "messages": [U], "tie": True,
        "meta": {"winner": "tie", "conversation_a": [U, A], "conversation_b": [U, A]}}),
    ("hh: shared turns become the context", "hh", {
        "chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant: 4",
        "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant: 5", "split": "train"}, {}, {
        "kind": "preference", "messages": [m("user", "hi"), m("assistant", "hello"), m("user", "2+2?")],
        "chosen": [m("assistant", "4")], "rejected": [m("assistant", "5")], "meta": {"split": "train"}}),
    ("traces: first correct vs first incorrect, <think> split", "traces", {
        "problem": "1+1?", "answer": "2", "generations": ["<think>3?</think>3", "<think>1+1</think>2", "2", "4"],
        "correctness_math_verify": [False, True, True, False], "correctness_llama": None}, {}, {
        "kind": "preference", "messages": [m("user", "1+1?")], "chosen": [m("assistant", "2", reasoning="1+1")],
        "rejected": [m("assistant", "3", reasoning="3?")],
        "meta": {"answer": "2", "correctness_llama": None, "pair": [1, 0]}}),
    ("traces: all correct is a tie with the reason, traces kept", "traces", {
        "problem": "p", "generations": ["a", "b"], "correctness_math_verify": [True, True]}, {}, {
        "kind": "preference", "messages": [m("user", "p")], "chosen": [m("assistant", "a")],
        "rejected": [m("assistant", "b")], "tie": True,
        "meta": {"generations": ["a", "b"], "correctness_math_verify": [True, True], "unpaired": "all_correct",
                 "pair": [0, 1]}}),
    ("traces: one trace is too few", "traces", {
        "problem": "p", "generations": ["a"], "correctness": [False]}, {}, {
        "kind": "preference", "messages": [m("user", "p")], "tie": True,
        "meta": {"generations": ["a"], "correctness": [False], "unpaired": "fewer_than_two"}}),
    ("traces: null flags and blank traces are not candidates", "traces", {
        "problem": "p", "generations": ["a", " ", "c"], "correctness_math_verify": [None, False, False]}, {}, {
        "kind": "preference", "messages": [m("user", "p")], "tie": True,
        "meta": {"generations": ["a", " ", "c"], "correctness_math_verify": [None, False, False],
                 "unpaired": "fewer_than_two"}}),
    ("ranked: UltraFeedback completions, fine-grained_score", "ranked", {
        "source": "evol", "instruction": "q", "completions": [
            {"model": "m1", "response": "mid", "fine-grained_score": 3.0, "overall_score": 9},
            {"model": "m2", "response": "best", "fine-grained_score": 4.5, "overall_score": 2},
            {"model": "m3", "response": "worst", "fine-grained_score": 1.25, "overall_score": 5}]}, {}, {
        "kind": "preference", "messages": [U], "chosen": [m("assistant", "best")],
        "rejected": [m("assistant", "worst")], "scores": {"chosen_score": 4.5, "rejected_score": 1.25},
        "meta": {"source": "evol", "pair": [1, 2]}}),
    ("ranked: score option picks another field", "ranked", {
        "instruction": "q", "completions": [
            {"response": "x", "fine-grained_score": 3.0, "annotations": {"h": {"Rating": "2"}}},
            {"response": "y", "fine-grained_score": 4.0, "annotations": {"h": {"Rating": "N/A"}}},
            {"response": "z", "fine-grained_score": 1.0, "annotations": {"h": {"Rating": "5"}}}]},
     {"score": "annotations.h.Rating"}, {
        "kind": "preference", "messages": [U], "chosen": [m("assistant", "z")], "rejected": [m("assistant", "x")],
        "scores": {"chosen_score": 5.0, "rejected_score": 2.0}, "meta": {"pair": [2, 0]}}),
    ("ranked: responses + scores, all equal is a tie", "ranked", {
        "prompt": "q", "responses": ["x", "y"], "scores": [2, 2]}, {}, {
        "kind": "preference", "messages": [U], "chosen": [m("assistant", "x")], "rejected": [m("assistant", "y")],
        "tie": True, "scores": {"chosen_score": 2.0, "rejected_score": 2.0},
        "meta": {"responses": ["x", "y"], "scores": [2, 2], "unpaired": "all_equal", "pair": [0, 1]}}),
    ("ranked: best vs worst within the margin is a tie", "ranked", {
        "prompt": "q", "responses": ["x", "y"], "ratings": [2, 2.5]}, {"margin": 1}, {
        "kind": "preference", "messages": [U], "chosen": [m("assistant", "y")], "rejected": [m("assistant", "x")],
        "tie": True, "scores": {"chosen_score": 2.5, "rejected_score": 2.0},
        "meta": {"responses": ["x", "y"], "ratings": [2, 2.5], "unpaired": "within_margin", "pair": [1, 0]}}),
    ("ranked: ranks (1 is the best), equal ranks are a tie", "ranked", {
        "prompt": "q", "responses": ["x", "y", "z"], "ranks": [2, 1, 2]}, {}, {
        "kind": "preference", "messages": [U], "chosen": [m("assistant", "y")], "rejected": [m("assistant", "x")],
        "scores": {"chosen_rank": 1.0, "rejected_rank": 2.0}, "meta": {"pair": [1, 0]}}),
    ("ranked: all ranks equal", "ranked", {"prompt": "q", "responses": ["x", "y"], "ranks": [1, 1]}, {}, {
        "kind": "preference", "messages": [U], "chosen": [m("assistant", "x")], "rejected": [m("assistant", "y")],
        "tie": True, "scores": {"chosen_rank": 1.0, "rejected_rank": 1.0},
        "meta": {"responses": ["x", "y"], "ranks": [1, 1], "unpaired": "all_equal", "pair": [0, 1]}}),
]


@pytest.mark.parametrize(("fmt", "row", "options", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_adapter(fmt: str, row: dict[str, Any], options: dict[str, Any], expected: dict[str, Any]) -> None:
    assert to_canonical(fmt, row, options=options) == expected
    detection = detect_format([row], AdapterConfig(options=options))
    assert detection.format == fmt and detection.confidence >= 0.9


ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("helpsteer", hs(5), "from -3 to 3"),
    ("helpsteer", {**hs(1), "context": 3}, "list of messages or a string"),
    ("arena", {"winner": "model_c", "conversation_a": [U, A], "conversation_b": [U, B]}, "must be one of"),
    ("arena", {"winner": "model_a", "conversation_a": [U, A], "conversation_b": [U, A]}, "identical"),
    ("hh", {"chosen": "\n\nHuman: q\n\nAssistant: a", "rejected": "\n\nHuman: q\n\nAssistant: a"}, "identical"),
    ("hh", {"chosen": "intro\n\nHuman: q\n\nAssistant: a", "rejected": "\n\nHuman: q\n\nAssistant: b"},
     "text before"),
    ("traces", {"problem": "p", "generations": ["a", "b"], "correctness_math_verify": [True]}, "1 flags for 2"),
    ("traces", {"problem": "p", "generations": ["a", "b"]}, "no correctness flags"),
    ("ranked", {"prompt": "q", "responses": ["a", "b"], "scores": [1]}, "1 scores for 2"),
    ("ranked", {"prompt": "q", "responses": ["a", "b"]}, "parallel list of scores"),
]


@pytest.mark.parametrize(("fmt", "row", "error"), ERRORS)
def test_malformed_rows_are_quarantined_with_the_reason(fmt: str, row: dict[str, Any], error: str) -> None:
    with pytest.raises(AdapterError, match=error):
        get_adapter(fmt).to_record(row)


def test_all_pairs_yield_several_records_ordered_better_first() -> None:
    row = {"problem": "p", "generations": ["w1", "r1", "w2", "r2"],
           "correctness_math_verify": [False, True, False, True]}
    records = get_adapter("traces", AdapterConfig(options={"pairs": "all"})).to_records(row)
    assert [r["meta"]["pair"] for r in records] == [[1, 0], [1, 2], [3, 0], [3, 2]]
    assert get_adapter("traces").to_records(row)[0]["meta"]["pair"] == [1, 0]
    ranked = get_adapter("ranked", AdapterConfig(options={"pairs": "all", "margin": 1}))
    pairs = ranked.to_records({"prompt": "q", "responses": ["a", "b", "c"], "scores": [1, 2.5, 3]})
    assert [(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in pairs] == [("b", "a"), ("c", "a")]


@pytest.mark.parametrize("options", [{"pairs": "some"}, {"margin": -1}, {"margin": "x"}])
def test_bad_pair_options_are_recipe_errors(options: dict[str, Any]) -> None:
    with pytest.raises(RecipeError):
        get_adapter("ranked", AdapterConfig(options=options))


def test_openr1_rows_with_their_own_messages_are_traces_not_openai() -> None:
    row = {"problem": "p", "generations": ["a", "b"], "correctness_math_verify": [True, False],
           "messages": [m("user", "p"), m("assistant", "a")]}
    detection = detect_format([row] * 3)
    assert detection.format == "traces" and detection.candidates["openai"] == 0.9
