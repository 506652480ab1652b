"""The arithmetic step: every problem type solved exactly, mismatches flagged, fixed or dropped."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from datamill.steps.augment.arith import agrees, solve
from datamill.steps.augment.arith_solution import ArithParams, ArithSolution

from ..helpers import chat, reasons, run_global_step

LAST = re.compile(r"-?\d+(?:\.\d+)?(?:E[+-]?\d+)?")

CASES = [
    ("计算 7469.98 * -2455.65 等于多少？", "计算过程：7469.98 * -2455.65 = -18343656.3870", Fraction("7469.98") * Fraction("-2455.65")),  # noqa: E501
    ("计算 6874.58 - -2728.62 等于多少？", "计算过程：6874.58 - -2728.62 = 9603.20", Fraction("9603.2")),
    ("计算 1 / 3 等于多少？", "计算过程：1 / 3 = 0.3333333333333333333333333333", Fraction(1, 3)),
    ("解方程 -81x + -45 = 0", "方程的解为：-0.5555555555555555555555555556", Fraction(-5, 9)),
    ("求以下数据的平均值：[79, 69, 19, 3, 23, 93]", "平均值为 47.66666666666666666666666667", Fraction(286, 6)),
    ("将分数 10/12 进行简化。", "最简化的形式为：5/6", Fraction(5, 6)),
    ("某物体的密度为 10 克/立方厘米，体积为 3 立方厘米，请计算该物体的质量。", "30 克", Fraction(30)),
    ("商品原价为 51 元，打折后的价格为 28 元，请计算打折的折扣比例。", "折扣比例为 45.09803921568627450980392157%",
     Fraction(23, 51) * 100),
    ("一个长方形的长为 57 厘米，宽为 84 厘米，请计算其面积。", "面积为 4788 平方厘米", Fraction(4788)),
    ("计算 6145.00 的平方根？", "√6145.00 = 78.39005038906404479030928703", None),
    ("计算 16.00 的平方根？", "√16.00 = 4.0", Fraction(4)),
    ("计算 -711.31 的 4 次方？", "(-711.31)^4 = 255997460543.58343921", Fraction("-711.31") ** 4),
    ("去年销售额为 32 万元，今年销售额增加了 28%，请计算今年的销售额。", "今年的销售额为 40.96 万元", Fraction("40.96")),  # noqa: E501
    ("当 x = 4.03 时，求函数 y = 57x^54 的值", "函数的值为：2.769155521409239378157128235E+34",
     57 * Fraction("4.03") ** 54),
]


@pytest.mark.parametrize(("problem", "ending", "exact"), CASES)
def test_every_problem_type(problem: str, ending: str, exact: Fraction | None) -> None:
    solved = solve(problem)
    assert solved is not None and solved.answer.startswith("计算过程：")
    assert solved.answer.endswith(ending)
    if exact is not None:
        assert solved.exact == exact
        assert solved.kind == "fraction simplify" or correctly_rounded(solved.value, exact)


def correctly_rounded(written: str, exact: Fraction) -> bool:
    """``written`` is ``exact`` itself, or ``exact`` rounded to the written digits (half a unit)."""
    value = Decimal(written)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return abs(Fraction(value) - exact) <= Fraction(10) ** exponent / 2


@pytest.mark.parametrize(("problem", "given", "ok"), [
    ("解方程 98x + 6 = 0", "方程的解为：-0.061224489795918366", True),
    ("计算 1 + 1 等于多少？", "1 + 1 = 3", False),
    ("将分数 10/12 进行简化。", "最简化的形式为：10/12", False),
    ("将分数 5/6 进行简化。", "最简化的形式为：5/6", True),
    ("去年销售额为 12 万元，今年销售额增加了 77%，请计算今年的销售额。", "21.240000000000002", True),
])
def test_agreement_with_float_drift_tolerance(problem: str, given: str, ok: bool) -> None:
    solved = solve(problem)
    assert solved is not None and agrees(solved, given, Fraction(1, 10**12)) is ok


def test_unknown_and_english_problems_are_not_solved() -> None:
    assert solve("What is 1 + 1?") is None and solve("计算 1 / 0 等于多少？") is None


@pytest.mark.parametrize(("mode", "expected_answer", "dropped"), [
    ("fix", "计算过程：1 + 1 = 2", {}),
    ("keep", "1 + 1 = 3", {}),
    ("drop", None, {"a:1": "arith_mismatch"}),
])
def test_mismatch_modes(mode: str, expected_answer: str | None, dropped: dict[str, str]) -> None:
    rows = [chat("a:0", "计算 2 * 3 等于多少？", "2 * 3 = 6"), chat("a:1", "计算 1 + 1 等于多少？", "1 + 1 = 3"),
            chat("a:2", "What is x?", "x")]
    step = ArithSolution(ArithParams.model_validate({"on_mismatch": mode}))
    kept, drops = run_global_step(step, rows, 2)
    assert reasons(drops) == dropped
    by_id = {r["id"]: r for r in kept}
    assert by_id["a:0"]["messages"][-1]["content"] == "计算过程：2 * 3 = 6"
    assert by_id["a:0"]["meta"]["arith"] == {"kind": "direct computation", "given": "ok"}
    assert by_id["a:2"]["messages"][-1]["content"] == "x"
    if expected_answer is not None:
        assert by_id["a:1"]["messages"][-1]["content"] == expected_answer
    report: dict[str, Any] = step.report()
    assert report["given_wrong"] == 1 and report["given_ok"] == 1 and report["unparsed"] == 1


def test_real_data_every_solution_recomputes(corpora: Path) -> None:
    rows = [json.loads(line) for line in (corpora / "4_ascend_arith_zh" / "test-v2.json").open(encoding="utf-8")]
    solved = 0
    for row in rows:
        s = solve(row["problem"])
        if s is None:
            assert not re.search(r"[\u4e00-\u9fff]", row["problem"]), row  # only English is left unparsed
            continue
        solved += 1
        assert agrees(s, row["solution"], Fraction(1, 10**12)), row
        if s.kind != "fraction simplify":
            assert correctly_rounded(s.value, s.exact) or s.kind == "sqrt computation"
    assert solved == len(rows) - 44
