"""Parsing and exact solving of the templated arithmetic problems of seed 003 (Ascend arithmetic set).

Each problem type is one regular expression over the problem text and one function that computes the
answer exactly (``Fraction``/``Decimal``, never ``float``) and writes the worked steps. Results that
terminate within :data:`MAX_EXACT_DIGITS` significant digits are written exactly (``9603.20``); others
(division, square roots, large powers) are rounded once, correctly, to ``precision`` significant digits
(28 by default, the precision of Python's decimal context and of the original data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from fractions import Fraction
from math import gcd

NUM = r"(-?\d+(?:\.\d+)?)"
MAX_EXACT_DIGITS = 40
_EXACT = Context(prec=10_000)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LAST_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[Ee][+-]?\d+)?")
_LAST_FRACTION = re.compile(r"(-?\d+)\s*/\s*(-?\d+)\s*$|(-?\d+)\s*$")


@dataclass(frozen=True)
class Solved:
    """An exactly solved problem: its type, the exact value, the written value and the worked answer."""

    kind: str
    exact: Fraction
    value: str
    answer: str


def fmt(x: Fraction | Decimal, precision: int) -> str:
    """Exact decimal if it terminates within :data:`MAX_EXACT_DIGITS` digits, else rounded to ``precision``."""
    if isinstance(x, Decimal):
        d = x
    else:
        den = x.denominator
        twos = fives = 0
        while den % 2 == 0:
            den //= 2
            twos += 1
        while den % 5 == 0:
            den //= 5
            fives += 1
        if den == 1:
            d = _EXACT.divide(Decimal(x.numerator), Decimal(x.denominator))
        else:
            d = Context(prec=precision, rounding=ROUND_HALF_EVEN).divide(Decimal(x.numerator),
                                                                         Decimal(x.denominator))
    if len(d.as_tuple().digits) > MAX_EXACT_DIGITS:
        d = Context(prec=precision, rounding=ROUND_HALF_EVEN).plus(d)
    if d == 0:
        d = abs(d)
    return str(d)


def paren(s: str) -> str:
    """A negative operand in parentheses: ``(-3.5)``."""
    return f"({s})" if s.startswith("-") else s


def _direct(m: re.Match[str], precision: int) -> Solved:
    a, op, b = m[1], m[2], m[3]
    da, db = Decimal(a), Decimal(b)
    if op == "/":
        if db == 0:
            raise ZeroDivisionError("division by zero")
        exact = Fraction(da) / Fraction(db)
        value = fmt(exact, precision)
    else:
        d = {"+": _EXACT.add, "-": _EXACT.subtract, "*": _EXACT.multiply}[op](da, db)
        exact, value = Fraction(d), fmt(d, precision)
    return Solved("direct computation", exact, value, f"计算过程：{a} {op} {b} = {value}")


def _equation(m: re.Match[str], precision: int) -> Solved:
    a, sign, c = Fraction(m[1]), m[2], Fraction(m[4])
    if a == 0:
        raise ZeroDivisionError("the coefficient of x is 0")
    b: Fraction = Fraction(m[3]) if sign == "+" else Fraction(0) - Fraction(m[3])
    rhs: Fraction = c - b
    x: Fraction = rhs / a
    value = fmt(x, precision)
    steps = (f"计算过程：{m[1]}x {sign} {m[3]} = {m[4]}，移项得 {m[1]}x = {m[4]} - {paren(fmt(b, precision))} = "
             f"{fmt(rhs, precision)}，所以 x = {fmt(rhs, precision)} / {paren(m[1])} = {value}")
    return Solved("eq solve", x, value, f"{steps}\n方程的解为：{value}")


def _mean(m: re.Match[str], precision: int) -> Solved:
    items = [s.strip() for s in m[1].split(",") if s.strip()]
    if not items:
        raise ValueError("no data")
    total: Fraction = sum((Fraction(s) for s in items), Fraction(0))
    exact: Fraction = total / len(items)
    value = fmt(exact, precision)
    steps = f"计算过程：({' + '.join(items)}) / {len(items)} = {fmt(total, precision)} / {len(items)} = {value}"
    return Solved("mean computation", exact, value, f"{steps}\n平均值为 {value}")


def _fraction(m: re.Match[str], precision: int) -> Solved:
    num, den = int(m[1]), int(m[2])
    if den == 0:
        raise ZeroDivisionError("denominator 0")
    g = gcd(num, den)
    exact = Fraction(num, den)
    value = str(exact)
    steps = f"计算过程：{num} 和 {den} 的最大公约数为 {g}，{num} ÷ {g} = {num // g}，{den} ÷ {g} = {den // g}"
    return Solved("fraction simplify", exact, value, f"{steps}\n最简化的形式为：{value}")


def _product(kind: str, label: str, unit: str) -> Callable[[re.Match[str], int], Solved]:
    def solve(m: re.Match[str], precision: int) -> Solved:
        d = _EXACT.multiply(Decimal(m[1]), Decimal(m[2]))
        value = fmt(d, precision)
        steps = f"计算过程：{label} = {m[1]} × {m[2]} = {value} {unit}"
        final = {"mass computation": f"{value} 克", "area computation": f"面积为 {value} 平方厘米"}[kind]
        return Solved(kind, Fraction(d), value, f"{steps}\n{final}")

    return solve


def _discount(m: re.Match[str], precision: int) -> Solved:
    before, after = Fraction(m[1]), Fraction(m[2])
    if before == 0:
        raise ZeroDivisionError("original price 0")
    exact = (before - after) / before * 100
    value = fmt(exact, precision)
    steps = f"计算过程：折扣比例 = (原价 - 折后价) / 原价 × 100% = ({m[1]} - {m[2]}) / {m[1]} × 100% = {value}%"
    return Solved("discount percentage", exact, value, f"{steps}\n折扣比例为 {value}%")


def _sqrt(m: re.Match[str], precision: int) -> Solved:
    d = Decimal(m[1])
    if d < 0:
        raise ValueError("square root of a negative number")
    root = Context(prec=precision, rounding=ROUND_HALF_EVEN).sqrt(d)
    # the exact value of an irrational root is not a fraction: keep 60 digits for checking
    wide = Context(prec=60).sqrt(d)
    is_exact = len(wide.normalize().as_tuple().digits) < 50 and _EXACT.multiply(wide, wide) == d
    value = fmt(wide, precision) if is_exact else str(root)
    exact = Fraction(wide)
    return Solved("sqrt computation", exact, value, f"计算过程：√{m[1]} = {value}")


def _power(m: re.Match[str], precision: int) -> Solved:
    base, n = Decimal(m[1]), int(m[2])
    d = _EXACT.power(base, n) if n else Decimal(1)
    value = fmt(d, precision)
    return Solved("power computation", Fraction(d), value, f"计算过程：{paren(m[1])}^{n} = {value}")


def _sales(m: re.Match[str], precision: int) -> Solved:
    d = _EXACT.multiply(Decimal(m[1]), _EXACT.add(Decimal(1), _EXACT.divide(Decimal(m[2]), Decimal(100))))
    value = fmt(d, precision)
    steps = f"计算过程：今年销售额 = 去年销售额 × (1 + 增长率) = {m[1]} × (1 + {m[2]}%) = {value} 万元"
    return Solved("sales revenue", Fraction(d), value, f"{steps}\n今年的销售额为 {value} 万元")


def _function(m: re.Match[str], precision: int) -> Solved:
    x, a, n = Decimal(m[1]), Decimal(m[2]), int(m[3])
    d = _EXACT.multiply(a, _EXACT.power(x, n))
    value = fmt(d, precision)
    return Solved("function computation", Fraction(d), value,
                  f"计算过程：y = {m[2]} × {paren(m[1])}^{n} = {value}\n函数的值为：{value}")


#: (pattern, solver), tried in order; the problem text is stripped first.
PROBLEMS: list[tuple[re.Pattern[str], Callable[[re.Match[str], int], Solved]]] = [
    (re.compile(rf"^计算 {NUM} ([-+*/]) {NUM} 等于多少[？?]?$"), _direct),
    (re.compile(rf"^解方程 {NUM}x ([-+]) {NUM} = {NUM}$"), _equation),
    (re.compile(r"^求以下数据的平均值[：:]\s*\[([-\d.,\s]*)\]$"), _mean),
    (re.compile(r"^将分数 (-?\d+)/(\d+) 进行简化[。.]?$"), _fraction),
    (re.compile(rf"^某物体的密度为 {NUM} 克/立方厘米，体积为 {NUM} 立方厘米，请计算该物体的质量。?$"),
     _product("mass computation", "质量 = 密度 × 体积", "克")),
    (re.compile(rf"^商品原价为 {NUM} 元，打折后的价格为 {NUM} 元，请计算打折的折扣比例。?$"), _discount),
    (re.compile(rf"^一个长方形的长为 {NUM} 厘米，宽为 {NUM} 厘米，请计算其面积。?$"),
     _product("area computation", "面积 = 长 × 宽", "平方厘米")),
    (re.compile(rf"^计算 {NUM} 的平方根[？?]?$"), _sqrt),
    (re.compile(rf"^计算 {NUM} 的 (\d+) 次方[？?]?$"), _power),
    (re.compile(rf"^去年销售额为 {NUM} 万元，今年销售额增加了 {NUM}%，请计算今年的销售额。?$"), _sales),
    (re.compile(rf"^当 x = {NUM} 时，求函数 y = {NUM}x\^(\d+) 的值$"), _function),
]
KINDS: tuple[str, ...] = (
    "direct computation", "eq solve", "mean computation", "fraction simplify", "mass computation",
    "discount percentage", "area computation", "sqrt computation", "power computation", "sales revenue",
    "function computation",
)
ENGLISH = "english"


def solve(problem: str, precision: int = 28) -> Solved | None:
    """Solve a templated problem exactly, or ``None`` when no template matches (or it has no answer)."""
    text = problem.strip()
    for pattern, solver in PROBLEMS:
        m = pattern.match(text)
        if m:
            try:
                return solver(m, precision)
            except (ZeroDivisionError, ValueError, InvalidOperation):
                return None
    return None


def problem_kind(problem: str) -> str | None:
    """The problem type, ``english`` for a problem without Chinese characters, ``None`` if unknown."""
    text = problem.strip()
    for (pattern, _), kind in zip(PROBLEMS, KINDS, strict=True):
        if pattern.match(text):
            return kind
    return ENGLISH if not _CJK.search(text) else None


def given_value(kind: str, solution: str) -> Fraction | None:
    """The final number of a given solution (``a/b`` for fraction simplification), or ``None``."""
    if kind == "fraction simplify":
        m = _LAST_FRACTION.search(solution.strip())
        if not m:
            return None
        if m[3] is not None:
            return Fraction(int(m[3]))
        return Fraction(int(m[1]), int(m[2])) if int(m[2]) else None
    found = _LAST_NUMBER.findall(solution)
    return Fraction(Decimal(found[-1])) if found else None


def last_unit(solution: str) -> Fraction:
    """One unit in the last written digit of the given solution's final number (its precision)."""
    found = _LAST_NUMBER.findall(solution)
    if not found:
        return Fraction(0)
    exponent = Decimal(found[-1]).as_tuple().exponent
    return Fraction(10) ** int(exponent) if isinstance(exponent, int) else Fraction(0)


def agrees(solved: Solved, solution: str, rel_tol: Fraction = Fraction(0)) -> bool:
    """Does the given solution state the same value, to within half a unit of its own last digit (it is the
    exact value correctly rounded) or ``rel_tol`` relative to the exact value (float drift such as
    ``21.240000000000002``)?

    Fractions must match exactly and be in lowest terms (``10/12`` is not simplified).
    """
    given = given_value(solved.kind, solution)
    if given is None:
        return False
    if solved.kind == "fraction simplify":
        m = _LAST_FRACTION.search(solution.strip())
        written = f"{m[1]}/{m[2]}" if m and m[1] is not None else (m[3] if m else "")
        return given == solved.exact and written.replace(" ", "") == solved.value
    return abs(given - solved.exact) <= max(last_unit(solution) / 2, rel_tol * abs(solved.exact))
