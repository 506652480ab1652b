"""The ``standardize`` step: dates, currency amounts and units written one way."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import Field

from datamill.selectors import Selector
from datamill.steps.clean.base import CleanParams, CleanStep
from datamill.steps.clean.patterns import EMAIL, URL_SPAN
from datamill.steps.clean.spans import CODE, MATH, map_outside

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], 1)}
_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NB = r"(?<![0-9.])"
_NA = r"(?![0-9])"
#: 2024年7月28日 / 2024年07月28号
DATE_ZH = re.compile(_NB + r"([0-9]{4})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*[日号]")
#: 2024/7/28, 2024.07.28, 2024-7-28; not a stretch of a path (``/2019/12/16/``)
DATE_YMD = re.compile(r"(?<![0-9./])([0-9]{4})([/.\-])([0-9]{1,2})\2([0-9]{1,2})(?![0-9/])")
#: 07/28/2024 (month first unless day_first); not a stretch of a path
DATE_XXY = re.compile(r"(?<![0-9./])([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?![0-9/])")
#: July 28, 2024 / Jul 28 2024
DATE_MDY = re.compile(rf"(?<![A-Za-z])({_MONTH_RE})\.?\s+([0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+([0-9]{{4}})(?![0-9])",
                      re.IGNORECASE)
#: 28 July 2024
DATE_DMY = re.compile(rf"(?<![0-9.])([0-9]{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+([0-9]{{4}})(?![0-9])",
                      re.IGNORECASE)
#: The word or mark joining the two ends of a date range (``1日至3日``, ``June 30 to July 3, 2024``).
_RANGE = r"(?:至|到|~|～|〜|-|–|—|(?<![A-Za-z])(?:to|through|until|till|and)(?![A-Za-z]))"
#: A range that goes on after a date: the joiner, then a number or a month name.
RANGE_AFTER = re.compile(rf"\s*{_RANGE}\s*(?=[0-9]|(?:{_MONTH_RE})(?![a-z]))", re.IGNORECASE)
#: A range that leads up to a date: a number, an ordinal suffix, 日/号 or a month name, then the joiner.
RANGE_BEFORE = re.compile(rf"(?:[0-9]|(?<=[0-9])(?:st|nd|rd|th)|[日号]|(?<![A-Za-z])(?:{_MONTH_RE}))"
                          rf"\s*{_RANGE}\s*$", re.IGNORECASE)

_AMOUNT = r"([0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?)"
#: prefix symbol or code -> ISO code; suffix word -> ISO code
CURRENCY_PREFIX = {"¥": "CNY", "￥": "CNY", "RMB": "CNY", "人民币": "CNY", "$": "USD", "US$": "USD", "€": "EUR",
                   "£": "GBP", "HK$": "HKD", "CNY": "CNY", "USD": "USD", "EUR": "EUR", "GBP": "GBP"}
CURRENCY_SUFFIX = {"元人民币": "CNY", "人民币": "CNY", "元": "CNY", "块钱": "CNY", "美元": "USD", "美金": "USD",
                   "欧元": "EUR", "英镑": "GBP", "港元": "HKD", "港币": "HKD", "日元": "JPY",
                   "dollars": "USD", "euros": "EUR", "yuan": "CNY", "RMB": "CNY", "CNY": "CNY", "USD": "USD"}
_PREFIX_RE = "|".join(re.escape(k) for k in sorted(CURRENCY_PREFIX, key=len, reverse=True))
_SUFFIX_RE = "|".join(re.escape(k) for k in sorted(CURRENCY_SUFFIX, key=len, reverse=True))
CURRENCY_PRE = re.compile(
    rf"(?<![A-Za-z])(?<![0-9] )(?<![0-9])({_PREFIX_RE})\s?{_AMOUNT}(?![0-9A-Za-z])(?!\s?(?:{_SUFFIX_RE}))"
)
#: 元 that starts another word is not yuan: 118元素 (elements), 3元组 (triple), 2元一次方程 (equations), 元旦
_NOT_YUAN = r"(?!(?<=元)(?:[素组旦]|宇宙|[一二三四]?次?方程))"
CURRENCY_POST = re.compile(rf"{_NB}{_AMOUNT}\s?({_SUFFIX_RE})(?![A-Za-z]){_NOT_YUAN}")
#: unit word -> SI symbol (longest first when matching)
UNITS = {"平方千米": "km²", "平方公里": "km²", "平方米": "m²", "平方厘米": "cm²", "立方米": "m³", "立方厘米": "cm³",
         "千米": "km", "公里": "km", "厘米": "cm", "毫米": "mm", "米": "m", "千克": "kg", "公斤": "kg", "克": "g",
         "毫克": "mg", "吨": "t", "毫升": "mL", "升": "L", "小时": "h", "分钟": "min", "秒钟": "s",
         "kilometers": "km", "kilometres": "km", "meters": "m", "metres": "m", "centimeters": "cm",
         "millimeters": "mm", "kilograms": "kg", "grams": "g", "liters": "L", "litres": "L", "milliliters": "mL",
         "hours": "h", "minutes": "min", "seconds": "s"}
_UNIT_RE = "|".join(re.escape(k) for k in sorted(UNITS, key=len, reverse=True))
UNIT = re.compile(rf"{_NB}([0-9]+(?:\.[0-9]+)?)\s?({_UNIT_RE})(?![A-Za-z])")


class StandardizeParams(CleanParams):
    on: Selector = Field(
        default="answer",
        description="texts to standardize (see clean steps); default answer: the target the model learns to "
        "write, while prompts keep the variety users really type",
    )
    dates: Literal["iso"] | None = Field(default="iso", description="iso: dates become YYYY-MM-DD; null: off")
    day_first: bool = Field(default=False, description="read 03/04/2024 as 3 April (default: March 4, US order)")
    currency: Literal["code"] | None = Field(
        default="code", description="code: amounts become '<amount> <ISO code>' (¥100, 100元 -> 100 CNY); null: off"
    )
    units: Literal["symbol"] | None = Field(
        default=None, description="symbol: unit words become SI symbols (5公里 -> 5 km); off by default because "
        "it changes the wording of Chinese prose"
    )


def _iso(year: str, month: int | str, day: int | str) -> str | None:
    m, d = int(month), int(day)
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{int(year):04d}-{m:02d}-{d:02d}"


def _in_partial_range(text: str, start: int, end: int, starts: set[int], ends: set[int]) -> bool:
    """True when the date at ``text[start:end]`` is one end of a range whose other end is not a whole
    date (``1日至3日``, ``February 28th to March 3rd, 2005``): converting it alone would leave the range
    half in one style, half in another."""
    after = RANGE_AFTER.match(text, end)
    if after and after.end() not in starts:
        return True
    window = max(0, start - 40)
    before = RANGE_BEFORE.search(text, window, start)
    if before is None:
        return False
    first = re.match(r"[0-9]+|[A-Za-z]+|[日号]", text[before.start():])
    return first is None or before.start() + len(first[0]) not in ends


class Standardize(CleanStep[StandardizeParams]):
    """Write dates, currency amounts and (optionally) units one way, so the model sees one convention.

    Acts on ``on`` (default ``answer``: the target the model learns to write; prompts keep the variety
    users really type). Dates (``2024年7月28日``, ``2024/7/28``, ``July 28, 2024``, ``28 July 2024``,
    ``07/28/2024``) become ISO ``2024-07-28``; an impossible date is left as it is. Currency (``¥100``,
    ``100元``, ``$5``, ``5美元``, ``RMB 1,000``) becomes ``100 CNY`` (``元`` starting another word is not
    money: ``118元素``, ``3元组``, ``2元一次方程``); units (opt-in) ``5公里`` -> ``5 km``. Nothing else
    changes: numbers inside longer numbers, URLs (``.../2019/12/16/...``) and path-like dates, e-mail
    addresses, Markdown code (``echo $5``) and LaTeX math (``$5x+3$``; a ``$`` pair counts as math by
    pandoc's rule, so ``costs $5 and $10`` is money) are never touched; the output forms are not matched
    again: idempotent. A date range is converted whole or not at all: ``2024年7月1日至2024年7月3日``
    becomes ``2024-07-01至2024-07-03``, but ``1863 年 7 月 1 日至 3 日`` and ``February 28th to March 3rd,
    2005`` stay as written (their other end is not a whole date).

    Every date is rewritten, also where its format is the point: the answer to "write 15/10/2021 as
    mm/dd/yyyy" (``10/15/2021``) becomes ``2021-10-15``, which is wrong for its task. That comes with
    opting into date standardization; leave date-format tasks out of the data or set ``dates: null``.

    ``day_first`` reads 03/04/2024 as 3 April (default: March 4, the US order).
    """

    name: ClassVar[str] = "standardize"
    Params = StandardizeParams
    version: ClassVar[str] = "3"  # "3": a stretch glued to a protected span is left as written

    def clean(self, text: str) -> str:
        return map_outside(text, self._clean_prose, (CODE, MATH, URL_SPAN, EMAIL), after_code=self._after_span)

    def _after_span(self, text: str) -> str:
        """A stretch right after a protected span (URL, e-mail, code) that continues its word (``a@b.co$5``) is
        left as written up to the next space: converting it would move where the span ends, and the next pass
        would see another span (standardizing twice must give what once gives)."""
        if not text or text[0].isspace():
            return self._clean_prose(text)
        cut = re.search(r"\s", text)
        return text if cut is None else text[:cut.start()] + self._clean_prose(text[cut.start():])

    def _clean_prose(self, text: str) -> str:
        # one rewrite can expose another (``$5　RMB 1,000``: the RMB amount first, then ``$5``):
        # repeat to a fixed point so that the step is idempotent
        for _ in range(4):
            cleaned = self._clean_once(text)
            if cleaned == text:
                break
            text = cleaned
        return text

    def _clean_once(self, text: str) -> str:
        p = self.params
        if p.dates:
            text = self._dates(text)
        if p.currency:
            text = CURRENCY_PRE.sub(lambda m: f"{m[2]} {CURRENCY_PREFIX[m[1]]}", text)
            text = CURRENCY_POST.sub(lambda m: f"{m[1]} {CURRENCY_SUFFIX[m[2]]}", text)
        if p.units:
            text = UNIT.sub(lambda m: f"{m[1]} {UNITS[m[2]]}", text)
        return text

    def _date_rules(self) -> tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]], ...]:
        day_first = self.params.day_first
        return (
            (DATE_ZH, lambda m: _iso(m[1], m[2], m[3])),
            # an ISO date (2024-07-28) is a date already: matched, so that a range can end on it
            (DATE_YMD, lambda m: _iso(m[1], m[3], m[4])),
            (DATE_XXY, lambda m: _iso(m[3], m[2], m[1]) if day_first else _iso(m[3], m[1], m[2])),
            (DATE_MDY, lambda m: _iso(m[3], _MONTHS[m[1].lower()], m[2])),
            (DATE_DMY, lambda m: _iso(m[3], _MONTHS[m[2].lower()], m[1])),
        )

    def _dates(self, text: str) -> str:
        """Every date that is not one end of a half-written range, in ISO form (the earlier rule wins
        where two overlap)."""
        found: list[tuple[int, int, str]] = []
        for pattern, convert in self._date_rules():
            for m in pattern.finditer(text):
                if not any(s < m.end() and m.start() < e for s, e, _ in found):
                    found.append((m.start(), m.end(), convert(m) or m[0]))
        if not found:
            return text
        found.sort()
        starts, ends = {s for s, _, _ in found}, {e for _, e, _ in found}
        out: list[str] = []
        pos = 0
        for start, end, iso in found:
            if iso != text[start:end] and not _in_partial_range(text, start, end, starts, ends):
                out += [text[pos:start], iso]
                pos = end
        out.append(text[pos:])
        return "".join(out)
