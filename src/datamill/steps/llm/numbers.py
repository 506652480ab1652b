"""Numbers as a translation carries them: the values a text mentions, whatever the script, locale or wording.

A source and its translation write the same number differently: ``1,000`` / ``1.000`` / ``1 000``, ``1.5`` /
``1,5``, ``2 million`` / ``200万`` / ``2 Millionen``, ``24th`` / ``24.`` / ``24日``, ``November`` / ``11月``,
``three`` / ``三`` / ``drei``. :func:`mentions` gives each number written in digits (or as a month name next
to a day or year) with every value it can stand for; :func:`word_values` gives the values written in words
(English, German, Chinese numerals), which only ever *excuse* a digit number missing on the other side:
words alone never raise an issue (``a``/``ein``/``一`` are often no number at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_WIDE = str.maketrans("０１２３４５６７８９．，％", "0123456789.,%")
#: digits with thousands groups (1,000 / 1.000 / 1\u202f000 / 1'000) or one decimal part (1.5 / 1,5); a letter
#: before it, or a capital after it, makes it part of a name (MP3, G20, 3D, 5G); small letters after it are a
#: unit or an ordinal (24th, 5km, 1990s)
_NUMBER = re.compile(r"(?<![0-9A-Za-z_])(?:\d{1,3}(?:[,.\u202f\u00a0']\d{3})+|\d+)(?:[.,]\d+)?(?![A-Z])")
_SCALES = {"thousand": 10**3, "million": 10**6, "millions": 10**6, "billion": 10**9, "billions": 10**9,
           "trillion": 10**12, "tausend": 10**3, "million_de": 10**6, "millionen": 10**6, "mio": 10**6,
           "milliarde": 10**9, "milliarden": 10**9, "mrd": 10**9, "billionen": 10**12,
           "千": 10**3, "万": 10**4, "十万": 10**5, "百万": 10**6, "千万": 10**7, "亿": 10**8, "万亿": 10**12}
_SCALE = re.compile(r"\s*(万亿|十万|百万|千万|[千万亿]|(?i:thousand|millions?|billions?|trillion|tausend|millionen|"
                    r"mio\b\.?|milliarden?|mrd\b\.?|billionen))")
MONTHS = {name: i + 1 for i, names in enumerate([
    ("january", "jan", "januar", "jänner"), ("february", "feb", "februar"), ("march", "mar", "märz", "maerz"),
    ("april", "apr"), ("may", "mai"), ("june", "jun", "juni"), ("july", "jul", "juli"), ("august", "aug"),
    ("september", "sep", "sept"), ("october", "oct", "oktober", "okt"), ("november", "nov"),
    ("december", "dec", "dezember", "dez")]) for name in names}
_MONTH = re.compile(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b\.?", re.IGNORECASE)
#: month names that are also common words: a month only next to a number (May 5, 5 March, March 2020)
_AMBIGUOUS_MONTHS = {"may", "mar", "march", "jun", "aug", "sep", "dec", "jan", "mai"}
_DIGIT_NEAR = re.compile(r"^\s*\d|\d[.,]?\s*$")

_EN_WORDS: dict[str, float] = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"))}
_EN_WORDS.update({"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                  "ninety": 90, "hundred": 100, "dozen": 12, "first": 1, "second": 2, "third": 3, "fourth": 4,
                  "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "half": 0.5,
                  "quarter": 0.25, "twice": 2, "thrice": 3, "once": 1, "double": 2, "triple": 3, "a": 1})
_EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12, "thousands": 10**3,
              "millions": 10**6, "billions": 10**9, "tausend": 10**3, "millionen": 10**6, "milliarde": 10**9,
              "milliarden": 10**9, "billionen": 10**12}
#: words between a number and its scale: "half a million", "a quarter of a million"
_FILLER = {"a", "an", "of", "and", "eine", "einer"}
_DE_WORDS: dict[str, float] = {w: i for i, w in enumerate((
    "null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn", "elf", "zwölf",
    "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn"))}
_DE_WORDS.update({"ein": 1, "eine": 1, "einen": 1, "einem": 1, "einer": 1, "zwanzig": 20, "dreißig": 30,
                  "dreissig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60, "siebzig": 70, "achtzig": 80,
                  "neunzig": 90, "hälfte": 0.5, "halb": 0.5, "halbe": 0.5, "halben": 0.5, "einhalb": 0.5,
                  "erste": 1, "zweite": 2, "dritte": 3, "doppelt": 2, "dutzend": 12, "zwo": 2})
#: German compounds: zehnmal, zehnfache, dreifach (a multiple), zweieinhalb (+ a half), vierundzwanzig
_DE_SUFFIXES = ("fachen", "facher", "faches", "fache", "fach", "mal")
_EN_SUFFIXES = ("fold",)
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+(?:-[A-Za-z]+)?")
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10**4, "亿": 10**8}
_ZH_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")


_IMPERIAL = (r"feet|foot|ft|inch|inches|miles?|mph|pounds?|lbs?|ounces?|oz|gallons?|yards?|acres?|fahrenheit|°\s*f\b"
             r"|fu(?:ß|ss)|meilen?|pfund|zoll|英尺|英寸|英里|磅|华氏")
_METRIC = (r"meters?|metres?|m\b|km|kilomet(?:er|re)s?|cm|mm|kg|kilograms?|grams?|g\b|lit(?:er|re)s?|l\b|celsius"
           r"|centigrade|°\s*c\b|grad|hektar|hectares?|zentimeter|millimeter|kilogramm|gramm|米|公里|厘米|毫米|公斤|千克"
           r"|克|升|摄氏")
_UNIT = re.compile(rf"[\s-]*(?:(?P<imperial>{_IMPERIAL})|(?P<metric>{_METRIC}))", re.IGNORECASE)
#: unit names spelled out anywhere (measures written in words: "zweieinhalb Meter", "eight-foot")
_UNIT_WORD = re.compile(r"(?i)\b(?:(?P<imperial>feet|foot|inch(?:es)?|miles?|pounds|ounces?|gallons?|yards?|"
                        r"fahrenheit|fu(?:ß|ss)|meilen?|zoll)|(?P<metric>met(?:er|re)s?|kilomet(?:er|re)s?|"
                        r"centimet(?:er|re)s?|zentimeter|kilogram(?:m|s)?|lit(?:er|re)s?|celsius|centigrade))\b"
                        r"|(?P<zh_imperial>英尺|英寸|英里|华氏)|(?P<zh_metric>公里|厘米|毫米|公斤|千克|摄氏)")


@dataclass(frozen=True)
class Mention:
    """A number as written (``text``), every value it may stand for, and the system of the unit after it
    (``imperial``, ``metric`` or None): a converted measure (200 feet -> 60 Meter) is a translation choice."""

    text: str
    values: frozenset[Decimal]
    unit: str | None = None


def _dec(text: str) -> Decimal | None:
    try:
        return Decimal(text).normalize()
    except InvalidOperation:
        return None


def _readings(token: str) -> set[Decimal]:
    """``1,000`` -> {1000, 1}; ``1,5`` -> {1.5}; ``1.000`` -> {1000, 1}; ``24`` -> {24}."""
    out: set[Decimal] = set()
    grouped = re.fullmatch(r"\d{1,3}(?:([,.\u202f\u00a0'])\d{3})+", token)
    if grouped:
        out.add(_dec(re.sub(r"\D", "", token)) or Decimal(0))
        if grouped.group(1) in ",." and token.count(grouped.group(1)) == 1:  # 1,000 may be 1.000 in German
            out.add(_dec(token.replace(",", ".")) or Decimal(0))
        return out
    if token.count(",") == 1 and "." not in token:  # 1,1 may be a list ([1,1]) as well as 1.1
        out.update(v for v in (_dec(part) for part in token.split(",")) if v is not None)
    body, _, frac = token.replace(",", ".").rpartition(".") if re.search(r"[.,]\d+$", token) else (token, "", "")
    if frac:
        head = re.sub(r"\D", "", body)
        out.add(_dec(f"{head}.{frac}") or Decimal(0))
        if len(frac) == 3:  # 1.500 / 1,500: a thousands group in one of the locales
            out.add(_dec(head + frac) or Decimal(0))
    else:
        out.add(_dec(re.sub(r"\D", "", token)) or Decimal(0))
    return out


def mentions(text: str) -> list[Mention]:
    """Every number written with digits, with its readings and its scaled values (2 million = 2 and 2e6), and
    every month name next to a number (``November 24`` -> 11 and 24; a bare month too, unless ambiguous)."""
    text = text.translate(_WIDE)
    out: list[Mention] = []
    for m in _NUMBER.finditer(text):
        values = _readings(m.group(0))
        scale = _SCALE.match(text, m.end())
        if scale:
            key = scale.group(1).lower().rstrip(".")
            factor = _SCALES.get(key)
            if factor:
                values |= {(v * factor).normalize() for v in values}
        unit = _UNIT.match(text, scale.end() if scale else m.end())
        out.append(Mention(m.group(0), frozenset(values), unit.lastgroup if unit else None))
    for m in _MONTH.finditer(text):
        name = m.group(1).lower()
        if name in _AMBIGUOUS_MONTHS or m.group(1).islower():
            before, after = text[max(0, m.start() - 4):m.start()], text[m.end():m.end() + 4]
            if not (_DIGIT_NEAR.search(before) or _DIGIT_NEAR.search(after)):
                continue
        out.append(Mention(m.group(1), frozenset({Decimal(MONTHS[name])})))
    return out


def unit_systems(text: str) -> set[str]:
    """The unit systems a text measures in (``imperial``, ``metric``), from units after numbers and unit
    names spelled out."""
    found = {m.unit for m in mentions(text) if m.unit}
    for m in _UNIT_WORD.finditer(text):
        found.add((m.lastgroup or "").removeprefix("zh_"))
    return found


def _zh_value(numeral: str) -> Decimal | None:
    """Chinese numerals: 三 3, 二十四 24, 一百零五 105, 三千万 3e7, 二〇〇八 2008 (digit by digit)."""
    if all(ch in _ZH_DIGITS for ch in numeral):
        return Decimal("".join(str(_ZH_DIGITS[ch]) for ch in numeral)) if len(numeral) > 1 else \
            Decimal(_ZH_DIGITS[numeral])
    total, section, digit = 0, 0, 0
    for ch in numeral:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
        elif ch in _ZH_UNITS:
            section += (digit or 1) * _ZH_UNITS[ch]
            digit = 0
        elif ch in _ZH_BIG:
            total = (total + section + digit) * _ZH_BIG[ch]
            section = digit = 0
    return Decimal(total + section + digit)


def _de_value(word: str) -> Decimal | None:
    """A German number word, compounds included: vierundzwanzig 24, zweihundert 200, zweieinhalb 2.5,
    zehnmal 10, dreifache 3."""
    for suffix in _DE_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            word = word[: -len(suffix)]
            break
    if word in _DE_WORDS:
        return Decimal(str(_DE_WORDS[word]))
    if word.endswith("einhalb") and len(word) > 7:
        head = _de_value(word[:-7])
        return None if head is None else head + Decimal("0.5")
    for big, factor in (("tausend", 1000), ("hundert", 100)):
        if big in word:
            left, right = word.split(big, 1)
            head = _de_value(left) if left else Decimal(1)
            tail = _de_value(right) if right else Decimal(0)
            return None if head is None or tail is None else head * factor + tail
    if "und" in word:
        left, right = word.split("und", 1)
        a, b = _de_value(left), _de_value(right)
        return None if a is None or b is None else a + b
    return None


def _en_value(word: str) -> Decimal | None:
    """An English number word: twenty-four 24, tenfold 10, eight-foot 8."""
    for suffix in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            word = word[: -len(suffix)]
    parts = word.split("-")
    if all(p in _EN_WORDS for p in parts):
        return Decimal(str(sum(_EN_WORDS[p] for p in parts)))
    if len(parts) > 1 and parts[0] in _EN_WORDS and parts[0] != "a":  # eight-foot, ten-year-old
        return Decimal(str(_EN_WORDS[parts[0]]))
    return None


def word_values(text: str) -> set[Decimal]:
    """Values written in words: English and German number words and compounds, scaled by a following
    ``million``/``Millionen`` (``fourteen billion``, ``half a million``, ``three and a half``), and Chinese
    numerals. Used only to excuse a digit number that the other side writes in words."""
    out: set[Decimal] = set()
    words = [m.group(0).lower() for m in _WORD.finditer(text)]
    last: Decimal | None = None  # the number value just before, for "X million" and "X and a half"
    gap = 0
    for word in words:
        scale = _EN_SCALES.get(word)
        if scale is not None:
            scaled = (last if last is not None else Decimal(1)) * scale
            out.add(scaled.normalize())
            last, gap = scaled, 0
            continue
        if word in _FILLER and last is not None:  # "half a million", "three and a half"
            gap += 1
            continue
        value: Decimal | None = _en_value(word)
        if value is None:
            value = _de_value(word)
        if value is not None:
            if word in ("half", "einhalb") and last is not None and gap <= 2:
                out.add((last + Decimal("0.5")).normalize())
            out.add(value.normalize())
            last, gap = value, 0
        else:
            last, gap = None, 0
    for m in _ZH_NUMERAL.finditer(text):
        zh = _zh_value(m.group(0))
        if zh is not None:
            out.add(zh.normalize())
    return out
