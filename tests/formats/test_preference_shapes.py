"""Every preference shape datamill reads, against hand-made (prompt, chosen, rejected, tie) triples.

One table: each row of a real-world shape goes through detection and its adapter, and the record's
context and answers must be exactly what a person reading the row would say they are. Rows whose
explicit prompt disagrees with the conversations are quarantined with both texts in the reason. The
real UltraFeedback subset (trl-lib shape, scores in ``metadata``) checks the 25 ties it holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.formats import AdapterConfig, AdapterError, detect_format, get_adapter
from datamill.formats.canonical import CanonicalAdapter
from datamill.records import Message

ULTRAFEEDBACK = Path("/work/shared/corpora/3_ultrafeedback_subset/eval_clean.jsonl")

Turns = list[tuple[str, str]]


def m(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def t(role: str, content: str) -> dict[str, str]:
    """A ShareGPT turn."""
    return {"from": role, "value": content}


Q, A_GOOD, A_BAD = "What is 2+2?", "4", "5"
U = m("user", Q)
WHOLE_C, WHOLE_R = [U, m("assistant", A_GOOD)], [U, m("assistant", A_BAD)]
SIMPLE = ([("user", Q)], [("assistant", A_GOOD)], [("assistant", A_BAD)])
SWAPPED = ([("user", Q)], [("assistant", A_BAD)], [("assistant", A_GOOD)])

#: (case, row, options, expected format, (prompt turns, chosen turns, rejected turns), tie)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, tuple[Turns, Turns, Turns], bool]] = [
    ("alpaca chosen/rejected strings", {"instruction": Q, "input": "", "chosen": A_GOOD, "rejected": A_BAD},
     {}, "alpaca", SIMPLE, False),
    ("alpaca output [chosen, rejected] (LLaMA-Factory reward)", {"instruction": "What is", "input": "2+2?",
     "output": [A_GOOD, A_BAD]}, {}, "alpaca",
     ([("user", "What is\n2+2?")], [("assistant", A_GOOD)], [("assistant", A_BAD)]), False),
    ("alpaca pair with equal score_chosen/score_rejected is a tie", {"instruction": Q, "chosen": A_GOOD,
     "rejected": A_BAD, "score_chosen": 7, "score_rejected": "7.0"}, {}, "alpaca", SIMPLE, True),
    ("sharegpt conversations + chosen/rejected turns (dpo_zh_demo)", {"conversations": [t("human", Q)],
     "chosen": t("gpt", A_GOOD), "rejected": t("gpt", A_BAD)}, {}, "sharegpt", SIMPLE, False),
    ("sharegpt conversations + chosen/rejected strings (MedicalGPT)", {"conversations": [t("human", Q)],
     "chosen": A_GOOD, "rejected": A_BAD}, {}, "sharegpt", SIMPLE, False),
    ("sharegpt chosen/rejected as whole conversations", {"conversations": [t("human", Q)],
     "chosen": [t("human", Q), t("gpt", A_GOOD)], "rejected": [t("human", Q), t("gpt", A_BAD)]}, {},
     "sharegpt", SIMPLE, False),
    ("sharegpt with a tie flag", {"conversations": [t("human", Q)], "chosen": A_GOOD, "rejected": A_BAD,
     "tie": True}, {}, "sharegpt", SIMPLE, True),
    ("openai messages + chosen/rejected strings", {"messages": [U], "chosen": A_GOOD, "rejected": A_BAD}, {},
     "openai", SIMPLE, False),
    ("openai messages + chosen/rejected message lists", {"messages": [m("system", "Be brief."), U],
     "chosen": [m("assistant", A_GOOD)], "rejected": [m("assistant", A_BAD)]}, {}, "openai",
     ([("system", "Be brief."), ("user", Q)], [("assistant", A_GOOD)], [("assistant", A_BAD)]), False),
    ("TRL explicit prompt, standard (trl-lib/ultrafeedback_binarized as in the corpora)", {"prompt": Q,
     "chosen": A_GOOD, "rejected": A_BAD, "metadata": {"score_chosen": 9.0, "score_rejected": 7.0}}, {},
     "openai", SIMPLE, False),
    ("TRL explicit prompt, standard, equal scores in metadata: a tie", {"prompt": Q, "chosen": A_GOOD,
     "rejected": A_BAD, "metadata": {"score_chosen": 8.5, "score_rejected": 8.5}}, {}, "openai", SIMPLE, True),
    ("TRL explicit prompt, conversational", {"prompt": [U], "chosen": [m("assistant", A_GOOD)],
     "rejected": [m("assistant", A_BAD)]}, {}, "openai", SIMPLE, False),
    ("TRL implicit prompt: whole conversations", {"chosen": WHOLE_C, "rejected": WHOLE_R}, {}, "openai",
     SIMPLE, False),
    ("TRL implicit prompt, multi-turn: the shared turns are the prompt", {
        "chosen": [m("user", "hi"), m("assistant", "hello"), U, m("assistant", A_GOOD)],
        "rejected": [m("user", "hi"), m("assistant", "hello"), U, m("assistant", A_BAD)]}, {}, "openai",
     ([("user", "hi"), ("assistant", "hello"), ("user", Q)], [("assistant", A_GOOD)], [("assistant", A_BAD)]),
     False),
    ("TRL prompt as parallel string turns", {"prompt": ["hi", Q], "chosen": ["hello", A_GOOD],
     "rejected": ["hey", A_BAD]}, {}, "openai",
     ([("user", "hi")], [("assistant", "hello"), ("user", Q), ("assistant", A_GOOD)],
      [("assistant", "hey"), ("user", Q), ("assistant", A_BAD)]), False),
    ("UltraFeedback binarized (HuggingFaceH4): prompt + whole conversations + messages copy", {
        "prompt": Q, "prompt_id": "p1", "chosen": WHOLE_C, "rejected": WHOLE_R, "messages": WHOLE_C,
        "score_chosen": 8.0, "score_rejected": 3.0}, {}, "openai", SIMPLE, False),
    ("UltraFeedback binarized, equal scores: a tie", {
        "prompt": Q, "prompt_id": "p2", "chosen": WHOLE_C, "rejected": WHOLE_R, "messages": WHOLE_C,
        "score_chosen": 7.0, "score_rejected": 7.0}, {}, "openai", SIMPLE, True),
    ("UltraFeedback shape with a system turn in both conversations", {
        "prompt": Q, "chosen": [m("system", "S"), *WHOLE_C], "rejected": [m("system", "S"), *WHOLE_R],
        "messages": [m("system", "S"), *WHOLE_C]}, {}, "openai",
     ([("system", "S"), ("user", Q)], [("assistant", A_GOOD)], [("assistant", A_BAD)]), False),
    ("UltraFeedback shape whose answers share their first words (prefix by turns, not characters)", {
        "prompt": Q, "chosen": [U, m("assistant", "It is 4")], "rejected": [U, m("assistant", "It is 5")],
        "messages": [U, m("assistant", "It is 4")]}, {}, "openai",
     ([("user", Q)], [("assistant", "It is 4")], [("assistant", "It is 5")]), False),
    ("explicit prompt wins where the answers share a first assistant turn", {
        "prompt": [U], "chosen": [U, m("assistant", "ok"), m("user", "sure?"), m("assistant", "yes")],
        "rejected": [U, m("assistant", "ok"), m("user", "sure?"), m("assistant", "no")]}, {}, "openai",
     ([("user", Q)], [("assistant", "ok"), ("user", "sure?"), ("assistant", "yes")],
      [("assistant", "ok"), ("user", "sure?"), ("assistant", "no")]), False),
    ("LLaMA-Factory v1 chosen_messages/rejected_messages", {"chosen_messages": WHOLE_C,
     "rejected_messages": WHOLE_R}, {}, "openai", SIMPLE, False),
    ("helpsteer -2: response1 wins", {"context": Q, "response1": A_GOOD, "response2": A_BAD,
     "overall_preference": -2}, {}, "helpsteer", SIMPLE, False),
    ("helpsteer 2: response2 wins", {"context": [U], "response1": A_BAD, "response2": A_GOOD,
     "overall_preference": 2}, {}, "helpsteer", SIMPLE, False),
    ("helpsteer 0: a tie in the row's order", {"context": Q, "response1": A_GOOD, "response2": A_BAD,
     "overall_preference": 0}, {}, "helpsteer", SIMPLE, True),
    ("arena model_a", {"winner": "model_a", "conversation_a": WHOLE_C, "conversation_b": WHOLE_R}, {}, "arena",
     SIMPLE, False),
    ("arena model_b", {"winner": "model_b", "conversation_a": WHOLE_R, "conversation_b": WHOLE_C}, {}, "arena",
     SIMPLE, False),
    ("arena tie", {"winner": "tie", "conversation_a": WHOLE_C, "conversation_b": WHOLE_R}, {}, "arena",
     SIMPLE, True),
    ("hh transcripts", {"chosen": f"\n\nHuman: {Q}\n\nAssistant: {A_GOOD}",
     "rejected": f"\n\nHuman: {Q}\n\nAssistant: {A_BAD}"}, {}, "hh", SIMPLE, False),
    ("traces: first correct vs first incorrect", {"problem": Q, "generations": [A_BAD, A_GOOD],
     "correctness_math_verify": [False, True]}, {}, "traces", SIMPLE, False),
    ("traces: all correct is a tie", {"problem": Q, "generations": [A_GOOD, A_BAD],
     "correctness_math_verify": [True, True]}, {}, "traces", SIMPLE, True),
    ("ranked: UltraFeedback completions", {"instruction": Q, "completions": [
        {"response": A_BAD, "fine-grained_score": 1.5}, {"response": A_GOOD, "fine-grained_score": 4.0}]}, {},
     "ranked", SIMPLE, False),
    ("ranked: responses + scores", {"prompt": Q, "responses": [A_GOOD, A_BAD], "scores": [9, 2]}, {}, "ranked",
     SIMPLE, False),
    ("ranked: equal ranks are a tie", {"prompt": Q, "responses": [A_GOOD, A_BAD], "ranks": [1, 1]}, {},
     "ranked", SIMPLE, True),
    ("pairwise preference 1", {"instruction": Q, "output_1": A_GOOD, "output_2": A_BAD, "preference": 1}, {},
     "pairwise", SIMPLE, False),
    ("pairwise preference 2 (a naive mapping flips it)", {"instruction": Q, "output_1": A_BAD,
     "output_2": A_GOOD, "preference": 2}, {}, "pairwise", SIMPLE, False),
    ("pairwise preference 2.0 as text", {"instruction": Q, "output_1": A_BAD, "output_2": A_GOOD,
     "preference": "2.0"}, {}, "pairwise", SIMPLE, False),
    ("pairwise preference 0 is a tie", {"instruction": Q, "output_1": A_GOOD, "output_2": A_BAD,
     "preference": 0}, {}, "pairwise", SIMPLE, True),
    ("pairwise preference 1.5 is a tie", {"instruction": Q, "output_1": A_BAD, "output_2": A_GOOD,
     "preference": 1.5}, {}, "pairwise", SWAPPED, True),
    ("pairwise preference 'tie'", {"instruction": Q, "input": "", "output_1": A_GOOD, "output_2": A_BAD,
     "preference": "tie"}, {}, "pairwise", SIMPLE, True),
]


def _turns(messages: list[Message]) -> Turns:
    return [(msg["role"], msg["content"]) for msg in messages]


@pytest.mark.parametrize(("row", "options", "fmt", "expected", "tie"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_preference_shape(row: dict[str, Any], options: dict[str, Any], fmt: str,
                                expected: tuple[Turns, Turns, Turns], tie: bool) -> None:
    detection = detect_format([row], AdapterConfig(options=options))
    assert detection.format == fmt
    record = get_adapter(fmt, AdapterConfig(options=options)).to_records(row)[0]
    assert CanonicalAdapter().to_record(record) == record
    assert record["kind"] == "preference"
    assert (_turns(record["messages"]), _turns(record["chosen"]), _turns(record["rejected"])) == expected
    assert bool(record.get("tie")) is tie


def test_qa_with_mapped_chosen_and_rejected() -> None:
    row = {"q": Q, "good": A_GOOD, "bad": A_BAD, "chosen_rating": 5, "rejected_rating": 5}
    fields = {"prompt": "q", "chosen": "good", "rejected": "bad"}
    record = get_adapter("qa", AdapterConfig(fields=fields)).to_record(row)
    assert (_turns(record["messages"]), _turns(record["chosen"]), _turns(record["rejected"])) == SIMPLE
    assert record["tie"] is True and record["scores"] == {"chosen_score": 5.0, "rejected_score": 5.0}


#: rows whose explicit prompt or messages column says something else than the answers: quarantined
DISAGREE: list[tuple[str, dict[str, Any], str]] = [
    ("a prompt string that is not the shared user turn", {"prompt": "Another question", "chosen": WHOLE_C,
     "rejected": WHOLE_R}, "'prompt' disagrees with the prompt that 'chosen' and 'rejected' share"),
    ("a messages column that is neither the prompt nor a side", {"prompt": Q, "chosen": WHOLE_C,
     "rejected": WHOLE_R, "messages": [m("user", "other"), m("assistant", "x")]}, "'messages' disagrees"),
    ("messages and prompt disagree for continuations", {"messages": [U], "prompt": "Another question",
     "chosen": A_GOOD, "rejected": A_BAD}, "'prompt' disagrees with 'messages'"),
    ("one side whole, the other a continuation", {"prompt": Q, "chosen": WHOLE_C,
     "rejected": [m("assistant", A_BAD)]}, "whole conversation but the other continues"),
    ("whole conversations that share no user turn", {"chosen": [U, m("assistant", A_GOOD)],
     "rejected": [m("user", "other"), m("assistant", A_BAD)]}, "share no user turn"),
]


@pytest.mark.parametrize(("row", "error"), [c[1:] for c in DISAGREE], ids=[c[0] for c in DISAGREE])
def test_a_prompt_that_disagrees_is_quarantined_with_both_texts(row: dict[str, Any], error: str) -> None:
    with pytest.raises(AdapterError, match=error):
        get_adapter("openai").to_record(row)


def test_the_ultrafeedback_subset_of_the_corpora() -> None:
    if not ULTRAFEEDBACK.exists():
        pytest.skip(f"{ULTRAFEEDBACK} is not here (../shared/corpora)")
    rows = [json.loads(line) for line in ULTRAFEEDBACK.read_text(encoding="utf-8").splitlines()]
    assert detect_format(rows[:200]).format == "openai"
    adapter = get_adapter("openai")
    records = [adapter.to_record(row) for row in rows]
    for row, record in zip(rows[:3], records[:3], strict=True):
        assert _turns(record["messages"]) == [("user", row["prompt"])]
        assert _turns(record["chosen"]) == [("assistant", row["chosen"])]
        assert _turns(record["rejected"]) == [("assistant", row["rejected"])]
    ties = [i for i, r in enumerate(records) if r.get("tie")]
    expected = [i for i, row in enumerate(rows) if row["metadata"]["score_chosen"] == row["metadata"]["score_rejected"]]
    assert ties == expected and len(ties) == 25  # counted by hand from metadata: rows 3, 12, 20, ..., 199
    assert records[3]["scores"] == {"chosen_score": 9.0, "rejected_score": 9.0}
