"""Answer extractors and the comparison, table-driven: (text -> extracted answer), (predicted, reference -> match)."""

from __future__ import annotations

import pytest

from datamill.evaluate.extractors import boxed, build_extractor, last_number, make_choice, make_regex, same_answer

LAST_NUMBER = [
    ("计算过程：7469.98 * -2455.65 = -18343656.3870", "-18343656.3870"),
    ("方程的解为：-0.5555555555555556", "-0.5555555555555556"),
    ("最简化的形式为：5/6", "5/6"),
    ("最简化的形式为：5/6。", "5/6"),
    ("7 / 3", "3"),                       # spaced slash: an expression, not a fraction
    ("面积为4788平方厘米", "4788"),          # digits glued to CJK text
    ("函数的值为：2.769155521409239378157128235E+34", "2.769155521409239378157128235e+34"),
    ("The answer is 1,234,567.", "1234567"),
    ("[79, 69, 19]", "19"),                # a list, not thousands
    ("x − 5 = −3", "-3"),                  # unicode minus
    ("结果是 －7", "-7"),                   # full-width minus
    ("3 - 1", "1"),                        # binary minus is not a sign
    ("a-5", "5"),
    ("It weighs .5 kg", "0.5"),
    ("增长了 45.1%", "45.1"),
    ("12 x 10^3", "12e3"),
    ("H2O", None),                         # digits inside a word are not a number
    ("no number here", None),
    ("", None),
    ("30 克", "30"),
    ("答案：40.96 万元", "40.96"),
]


@pytest.mark.parametrize(("text", "expected"), LAST_NUMBER)
def test_last_number(text: str, expected: str | None) -> None:
    assert last_number(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    (r"so the answer is \boxed{42}.", "42"),
    (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),             # nested braces balanced
    (r"first \boxed{1} then \boxed{2}", "2"),             # the last one
    (r"\fbox{x+1}", "x+1"),
    (r"\boxed{unclosed", None),
    ("no box", None),
])
def test_boxed(text: str, expected: str | None) -> None:
    assert boxed(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("The answer is (B).", "B"),
    ("答案是C", "C"),
    ("答案：D", "D"),
    ("B. because it is", "B"),
    ("(A) is right", "A"),
    ("A and B are wrong, so C", "C"),   # no cue, no marked start: the last letter
    ("I think E", None),                 # E is not an allowed letter, I is not a choice
    ("none", None),
])
def test_choice(text: str, expected: str | None) -> None:
    assert make_choice("ABCD")(text) == expected


def test_regex_takes_the_last_match_and_its_group() -> None:
    extract = make_regex(r"####\s*(\S+)")
    assert extract("#### 1\n...\n#### 72") == "72"
    assert make_regex(r"\d+")("a 1 b 22") == "22"
    assert extract("nothing") is None
    with pytest.raises(ValueError):
        build_extractor("regex")


@pytest.mark.parametrize(("predicted", "reference", "kwargs", "same"), [
    ("78.39005038906404", "78.39005038906404479030928703", {}, True),     # float noise within 1e-6
    ("78.39", "78.39005038906404479030928703", {"rel_tol": 1e-9}, False),
    ("78.39", "78.39005038906404479030928703", {"rel_tol": 1e-4}, True),
    ("5/6", "0.8333333333333334", {}, True),                             # a fraction equals its decimal
    ("1234567", "1,234,567", {}, True),
    ("-0", "0", {}, True),
    ("0.0000000001", "0", {"abs_tol": 1e-9}, True),                     # abs_tol for references of 0
    ("0.0000000001", "0", {}, False),
    ("0.000000000000000", "4.926872627817005024843657913E-11", {}, False),  # 0 is not a tiny reference
    ("0.001", "0", {}, False),
    ("45.1%", "45.1", {}, True),
    ("Paris", " paris.", {}, True),                                      # text: case and punctuation
    ("Paris", "London", {}, False),
    (None, "1", {}, False),
    ("1", None, {}, False),
])
def test_same_answer(predicted: str | None, reference: str | None, kwargs: dict[str, float], same: bool) -> None:
    assert same_answer(predicted, reference, **kwargs) is same
