from __future__ import annotations

import pickle
from typing import Any

import pytest

from datamill.errors import RecipeError
from datamill.expr import ExprEvalError, compile_expr

from .helpers import chat

RECORD: dict[str, Any] = {
    **chat("a:1", "What is 2+2?", "It is 4.", category="math", tags=["easy", "arith"], lang="en"),
    "scores": {"quality": 0.8, "len": 12},
    "meta": {"task_type": "qa", "task type": "spaced", "n": 3, "nested": {"x": [10, 20, 30]}, "ok": None},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("len(answer) > 5", True),
        ("len(answer) > 50", False),
        ("meta.task_type == 'qa'", True),
        ("meta['task type'] == 'spaced'", True),
        ("meta.nested.x[1] == 20", True),
        ("meta.nested.x[-1] == 30", True),
        ("meta.nested.x[7] is None", True),
        ("messages[-1].role == 'assistant'", True),
        ("messages[0]['content'] == prompt", True),
        ("scores.quality >= 0.5 and scores.len < 20", True),
        ("category in ['math', 'code']", True),
        ("category not in ('math',)", False),
        ("'easy' in tags", True),
        ("meta.missing is None", True),
        ("meta.task_type is not None", True),
        ("not exists(meta.missing)", True),
        ("exists(meta.ok)", True),  # present but null
        ("exists('meta.nested.x')", True),
        ("exists(meta.nested.x[5])", False),
        ("lower(upper(prompt)) == lower(prompt)", True),
        ("strip('  x ') == 'x'", True),
        ("contains(answer, '4')", True),
        ("contains(tags, 'arith')", True),
        ("startswith(prompt, 'What') and endswith(answer, '.')", True),
        ("matches(answer, '[0-9]+')", True),
        ("matches(answer, '^[0-9]+$')", False),
        ("int('3') + float('1.5') == 4.5", True),
        ("str(meta.n) == '3'", True),
        ("abs(-3) == 3 and -meta.n == -3 and +meta.n == 3", True),
        ("min(1, 2, 3) == 1 and max(tags) == 'easy'", True),
        ("7 // 2 == 3 and 7 % 2 == 1 and 7 / 2 == 3.5 and 2 * 3 - 1 == 5", True),
        ("1 < meta.n < 5", True),
        ("1 < meta.n < 2", False),
        ("'x' if meta.n > 1 else 'y'", "x"),
        ("conversation == 'What is 2+2?\\nIt is 4.' and turns == conversation", True),
        ("system == '' and all == turns", True),
        ("'10' < '9'", True),  # two strings compare as strings
        ("meta.n == '3' and '3' == meta.n and meta.n < '4'", True),
        ("'10' > 9 and 9 < '10' and '1e1' == 10 and ' 7 ' * 2 == 14", True),  # number vs numeric string
        ("reasoning == '' and text == ''", True),
        ("meta.n or 0", 3),
        ("meta.missing or 'default'", "default"),
        ("[1, 2] == [1, 2] and {1} == {1}", True),
        ("'a' * 3 == 'aaa'", True),
        ("True and not False and None is None", True),
    ],
)
def test_evaluates(source: str, expected: Any) -> None:
    assert compile_expr(source)(RECORD) == expected


def test_multiline_expression_from_yaml_block() -> None:
    assert compile_expr("len(answer) > 5\nand category == 'math'\n")(RECORD) is True


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("__import__('os')", "__import__"),
        ("().__class__", "__class__"),
        ("().__class__.__bases__[0].__subclasses__()", "calling anything but a function name"),
        ("open('x')", "function 'open'"),
        ("eval('1')", "function 'eval'"),
        ("lambda: 1", "lambda"),
        ("[x for x in tags]", "comprehension"),
        ("{x for x in tags}", "comprehension"),
        ("(x for x in tags)", "generator"),
        ("answer.upper()", "calling anything but a function name"),
        ("answer.upper", "'.' or '[]' on 'answer'"),
        ("'abc'.upper", "attribute access on a value"),
        ("len(answer).real", "attribute access on a value"),
        ("prompt[0]", "'.' or '[]' on 'prompt'"),
        ("'abc'[0]", "'[]' on a value"),
        ("meta[category]", "subscript that is not a constant"),
        ("meta.x[1:2]", "subscript that is not a constant"),
        ("meta.__dict__", "__dict__"),
        ("__builtins__", "__builtins__"),
        ("2 ** 10", "'**'"),
        ("1 << 2", "'<<'"),
        ("~1", "'~'"),
        ("{'a': 1}", "dict literal"),
        ("f'{answer}'", "f-string"),
        ("(y := 1)", "':='"),
        ("len", "without a call"),
        ("len(answer, 1)", "takes 1"),
        ("min()", "at least 1"),
        ("len(obj=answer)", "keyword arguments"),
        ("len(*tags)", "unpacking"),
        ("meta.n is 3", "'is' with anything but None"),
        ("b'x' == answer", "bytes literal"),
        ("matches(answer, meta.pattern)", "constant string"),
        ("exists(len(answer))", "field path"),
        ("exists(prompt)", "'.' or '[]' on 'prompt'"),
    ],
)
def test_rejects_unsafe_or_unknown_constructs(source: str, fragment: str) -> None:
    with pytest.raises(RecipeError) as info:
        compile_expr(source)
    assert fragment in str(info.value)
    if "not allowed" in info.value.message:
        assert "column" in info.value.message


def test_error_names_column() -> None:
    with pytest.raises(RecipeError) as info:
        compile_expr("len(answer) > 1 or open('x')")
    assert "(column 20: \"open('x')\")" in info.value.message


@pytest.mark.parametrize("source", ["", "   ", "len(answer) >", "matches(answer, '(')", "x" * 10_001])
def test_rejects_bad_syntax(source: str) -> None:
    with pytest.raises(RecipeError):
        compile_expr(source)


def test_deeply_nested_expression_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError):
        compile_expr("+".join(["1"] * 3000))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("category < 3", "'<' not supported"),
        ("len(meta.missing) > 0", "TypeError"),
        ("lower(meta.n) == '3'", "lower() expects a string, got int"),
        ("int('x') > 0", "ValueError"),
        ("meta.n / 0 > 1", "ZeroDivisionError"),
        ("'ab' * 10000000", "longer than"),
        ("'%s' % answer", "numbers only"),
        ("contains(meta.n, 'x')", "contains() expects"),
    ],
)
def test_evaluation_errors_are_per_record(source: str, message: str) -> None:
    expr = compile_expr(source)
    with pytest.raises(ExprEvalError) as info:
        expr(RECORD)
    assert message in str(info.value)


def test_compiled_expression_pickles_by_source() -> None:
    expr = compile_expr("matches(answer, '4') and meta.n == 3")
    clone = pickle.loads(pickle.dumps(expr))
    assert clone.source == expr.source
    assert clone(RECORD) is True
