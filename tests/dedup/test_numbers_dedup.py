"""Signs, decimal points and operators carry meaning: texts that differ in them are not near-duplicates,
while texts that differ only in sentence punctuation still are (dedup_minhash, check_leakage near)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datamill.records import Record
from datamill.steps.dedup.minhash import DedupMinHash, DedupMinHashParams
from datamill.steps.dedup_exact import Normalize, normalize_text
from steps.helpers import chat, ids, run_global_step

PUNCT = Normalize(punctuation=True)

#: (a, b): different problems whose difference is a character that ordinary punctuation removal deleted
DIFFERENT_BY_PUNCTUATION = [
    ("解方程 -35x + 59 = 0", "解方程 35x + 59 = 0"),  # sign
    ("解方程 -36x + 41 = 0", "解方程 -36x + -41 = 0"),  # sign after an operator
    ("计算 -143.03 的 3 次方？", "计算 143.03 的 3 次方？"),
    ("计算 3.14 * 2", "计算 314 * 2"),  # decimal point
    ("What is .5 times 8 apples in the basket today?", "What is 5 times 8 apples in the basket today?"),
    ("Round 3,5 to the nearest whole number please.", "Round 35 to the nearest whole number please."),
    ("The ratio is 3:2 in this mixture of paint.", "The ratio is 32 in this mixture of paint."),
    ("去年销售额为 33 万元，今年增加了 85%，请计算。", "去年销售额为 33 万元，今年增加了 85，请计算。"),
    ("Compute 5 + 3 and explain each step of the calculation.",
     "Compute 5 - 3 and explain each step of the calculation."),
    ("Compute 5 * 3 and explain each step of the calculation.",
     "Compute 5 / 3 and explain each step of the calculation."),
    ("Is 3 < 5 true? Explain your reasoning in a few sentences.",
     "Is 3 > 5 true? Explain your reasoning in a few sentences."),
    ("Solve x = 3 and explain your reasoning in a few sentences.",
     "Solve x < 3 and explain your reasoning in a few sentences."),
    ("Simplify x + y and explain your reasoning in a few sentences.",
     "Simplify x - y and explain your reasoning in a few sentences."),
    ("计算 2^3 等于多少？", "计算 23 等于多少？"),
    ("计算 2**3 等于多少？", "计算 23 等于多少？"),
    ("What is 1/2 of the 10 apples in the basket?", "What is 12 of the 10 apples in the basket?"),
    ("求 f(x)=2x+1 在 x=3 处的值", "求 f(x)=2x1 在 x3 处的值"),
]

#: (a, b): the same text up to sentence punctuation, quotes, hyphens and brackets (prose, zh and en)
SAME_BUT_PUNCTUATION = [
    ("Hello, world! How are you doing today, my friend?", "Hello world. How are you doing today my friend!!"),
    ("Give me a well-known example of a state-of-the-art model.",
     "Give me a well–known example of a state–of–the–art model!"),
    ("Explain the e-mail protocol (SMTP) and/or IMAP in detail.",
     "Explain the email protocol SMTP andor IMAP in detail"),
    ("请解释一下什么是机器学习，并举例说明。", "请解释一下什么是机器学习并举例说明!"),
    ("「机器学习」是什么？请简单介绍。", "“机器学习”是什么?请简单介绍"),
    ("第 1 步：计算 3.5 + 2，然后告诉我结果。", "第 1 步:计算 3.5 + 2,然后告诉我结果"),
    ("Step 1: add 2.5 and 3, then report the result.", "Step 1 add 2.5 and 3; then report the result!"),
    ("1. Preheat the oven. 2. Mix the flour.", "1 Preheat the oven 2 Mix the flour"),
    ("- 2 cups of flour\n- 3 eggs", "* 2 cups of flour\n* 3 eggs"),
    ("He said -- and I quote -- 'no'.", "He said and I quote no"),
]


def _dropped(a: str, b: str, threshold: float = 0.7) -> int:
    step = DedupMinHash(DedupMinHashParams(threshold=threshold))
    _, dropped = run_global_step(step, [chat("a", a, "ok"), chat("b", b, "ok")], shard_size=1)
    return len(dropped)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_BY_PUNCTUATION)
def test_meaningful_punctuation_survives_normalization(a: str, b: str) -> None:
    assert normalize_text(a, PUNCT) != normalize_text(b, PUNCT)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_BY_PUNCTUATION)
def test_problems_differing_in_sign_point_or_operator_are_not_near_duplicates(a: str, b: str) -> None:
    assert _dropped(a, b, threshold=0.99) == 0


@pytest.mark.parametrize(("a", "b"), SAME_BUT_PUNCTUATION)
def test_punctuation_only_differences_still_near_duplicates(a: str, b: str) -> None:
    assert normalize_text(a, PUNCT) == normalize_text(b, PUNCT)
    assert _dropped(a, b) == 1


def test_normalized_forms() -> None:
    assert normalize_text("解方程 -35x + 59 = 0。", PUNCT) == "解方程 -35x + 59 = 0"
    assert normalize_text("Pi is 3.14, e is 2.72!", PUNCT) == "pi is 3.14 e is 2.72"
    assert normalize_text("Growth: 85%; price 1,000.", PUNCT) == "growth 85% price 1,000"
    assert normalize_text("well-known (x-ray) and/or e-mail", PUNCT) == "wellknown xray andor email"


#: same template, one number changed: different problems (found on 4_ascend_arith_zh, Jaccard 0.70-0.80)
DIFFERENT_NUMBERS = [
    ("一个长方形的长为 87 厘米，宽为 4 厘米，请计算其面积。", "一个长方形的长为 87 厘米，宽为 45 厘米，请计算其面积。"),
    ("商品原价为 86 元，打折后的价格为 21 元，请计算打折的折扣比例。",
     "商品原价为 82 元，打折后的价格为 21 元，请计算打折的折扣比例。"),
    ("A train travels 120 km in 2 hours at a constant speed. What is its speed in km per hour?",
     "A train travels 150 km in 2 hours at a constant speed. What is its speed in km per hour?"),
]


@pytest.mark.parametrize(("a", "b"), DIFFERENT_NUMBERS)
def test_same_template_different_numbers_are_not_near_duplicates(a: str, b: str) -> None:
    assert _dropped(a, b) == 0
    step = DedupMinHash(DedupMinHashParams(same_numbers=False))
    _, dropped = run_global_step(step, [chat("a", a, "ok"), chat("b", b, "ok")], shard_size=1)
    assert len(dropped) == 1  # the old behaviour, on request


def test_same_numbers_reworded_still_near_duplicates() -> None:
    a = "A train travels 120 km in 2 hours at a constant speed. What is its speed in km per hour?"
    b = "A train travels 120 km in 2 hours at a constant speed! What is its speed, in km per hour?"
    assert _dropped(a, b) == 1


def test_real_arithmetic_corpus_keeps_every_distinct_problem(corpora: Path) -> None:
    path = corpora / "4_ascend_arith_zh" / "test-v2.json"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records: list[Record] = [chat(f"r{i}", r["problem"], r["solution"]) for i, r in enumerate(rows)]
    distinct = len({r["problem"] for r in rows})
    assert distinct == len(rows) == 1992
    kept, dropped = run_global_step(DedupMinHash(DedupMinHashParams()), records, shard_size=500)
    assert [(r["id"], d.detail) for r, d in dropped] == []
    assert len(ids(kept)) == distinct


def test_check_leakage_flags_a_question_with_its_numbers_changed_unless_told_otherwise() -> None:
    """Decontamination errs on flagging: an evaluation question reused with other numbers still counts as seen
    (``same_numbers: false`` by default for check_leakage, unlike dedup_minhash)."""
    from datamill.steps.dedup.leakage import CheckLeakage, CheckLeakageParams
    from steps.helpers import chat, run_global_step

    question = ("A farmer has {} cows and buys {} more at the market on Monday morning, then sells half of the "
                "herd to a neighbour. How many cows does the farmer have left at the end of the week?")
    records = [chat("t1", question.format(12, 8), "10", split="train"),
               chat("e1", question.format(15, 5), "10", split="test"),
               chat("e2", "What is the capital city of France and why is it famous?", "Paris", split="test")]
    flagged = CheckLeakage(CheckLeakageParams(method="near", action="remove"))
    _, dropped = run_global_step(flagged, records, shard_size=2)
    assert [r["id"] for r, _ in dropped] == ["e1"]
    strict = CheckLeakage(CheckLeakageParams(method="near", action="remove", same_numbers=True))
    _, dropped = run_global_step(strict, records, shard_size=2)
    assert dropped == []


def test_numbers_are_quantities_not_digits_glued_to_words() -> None:
    from datamill.steps.dedup.minhash import numbers_key

    assert numbers_key("w12 w13 x") == numbers_key("w99 w13 x") == numbers_key("no number")
    assert numbers_key("gpt4 and h2o") == numbers_key("gpt5 and h3o")
    assert numbers_key("宽为 4 厘米") != numbers_key("宽为 45 厘米")
    assert numbers_key("x = -35") != numbers_key("x = 35")
    assert numbers_key("3.14 * 2") != numbers_key("314 * 2")
