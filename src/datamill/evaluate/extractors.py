"""Answer extractors for exact match: pull the final answer out of a model's text and a reference, then
compare them.

Each extractor returns the answer as a string (or None when the text holds none); :func:`same_answer`
compares two extracted answers: numerically with a tolerance when both read as numbers, else as
normalized strings (case-folded, whitespace and surrounding ``$``/punctuation removed).

* ``last_number``: the last number in the text. Signs (``-``, ``−``, ``－``) directly before the digits,
  thousands separators without spaces (``1,234,567``), decimals, scientific notation (``2.77E+34``),
  a trailing ``%`` (kept as the number: ``45.1%`` -> ``45.1``) and a fraction written without spaces at
  the very end (``5/6``; ``7 / 3`` is an expression, not a fraction).
* ``boxed``: the content of the last ``\\boxed{...}`` (nested braces balanced); ``\\fbox`` too.
* ``choice``: a choice letter: ``answer is (B)`` / ``答案是B`` / ``答案：B`` first, then a letter
  standing alone at the start (``B.``, ``(B)``, ``B)``), then the last standalone letter.
* ``regex``: the first group (or the whole match) of the last match of a pattern.
* ``text``: the whole text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction

_MINUS = str.maketrans({"\u2212": "-", "\uff0d": "-", "\u2013": "-"})
#: a number: optional sign glued to it, thousands groups or plain digits, decimals, exponent
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(-?)(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(\.\d+)?"
    r"(?:[eE]([+-]?\d+)(?![A-Za-z])|\s*[x×]\s*10\^\{?([+-]?\d+)\}?)?"
    r"|(?<![A-Za-z0-9_.])(-?)\.(\d+)"
)
_FRACTION_AT_END = re.compile(r"(?<![A-Za-z0-9_./])(-?\d+)/(\d+)[^A-Za-z0-9_]*$")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_CHOICE_CUES = re.compile(
    r"(?:answer\s*(?:is|:)|答案\s*(?:是|为|:|：)?|选\s*(?:择)?|option)\s*[:：]?\s*[(（\[]?\s*([A-Z])\b", re.I)
_CHOICE_START = re.compile(r"^\W*[(（\[]?([A-Z])(?:[)）\].:：、]|$)")
_STANDALONE_LETTER = re.compile(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])")
_SPACES = re.compile(r"\s+")
_STRIP_CHARS = " \t\n\r$.,;:!?。，；：！？\"'`*"


def number_value(text: str) -> float | None:
    """A number written as text (``-1,234.5``, ``2.7E+34``, ``5/6``, ``45%``) as a float; None otherwise."""
    s = text.strip().translate(_MINUS).rstrip("%").strip().replace(",", "")
    frac = re.fullmatch(r"(-?\d+)/(\d+)", s)
    try:
        if frac:
            return float(Fraction(int(frac[1]), int(frac[2]))) if int(frac[2]) else None
        value = float(s)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def last_number(text: str) -> str | None:
    """The last number in ``text`` (see the module docstring), normalized: ``-1,234.50`` -> ``-1234.50``."""
    t = text.translate(_MINUS)
    frac = _FRACTION_AT_END.search(t)
    best: tuple[int, str] | None = None
    for m in _NUMBER.finditer(t):
        if m.group(2) is not None:
            sign, whole, dec, exp, exp10 = m.group(1), m.group(2).replace(",", ""), m.group(3) or "", m.group(4), \
                m.group(5)
            value = f"{sign}{whole}{dec}"
            if exp is not None or exp10 is not None:
                value += f"e{exp if exp is not None else exp10}"
        else:
            value = f"{m.group(6)}0.{m.group(7)}"
        best = (m.start(), value)
    if frac is not None and (best is None or frac.start() <= best[0]):
        return f"{frac[1]}/{frac[2]}"
    return None if best is None else best[1]


def boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced; None if absent."""
    found: str | None = None
    for m in _BOXED.finditer(text):
        depth = 1
        i = m.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        if depth == 0:
            found = text[m.end():i - 1].strip()
    return found


def make_choice(letters: str = "ABCD") -> Callable[[str], str | None]:
    """An extractor of one of ``letters`` (upper case) from a model answer."""
    allowed = set(letters.upper())

    def choice(text: str) -> str | None:
        for m in _CHOICE_CUES.finditer(text):
            if m[1].upper() in allowed:
                return m[1].upper()
        start = _CHOICE_START.match(text.strip())
        if start and start[1] in allowed:
            return start[1]
        found = [m[1] for m in _STANDALONE_LETTER.finditer(text) if m[1] in allowed]
        return found[-1] if found else None

    return choice


def make_regex(pattern: str) -> Callable[[str], str | None]:
    """An extractor returning the first group (or the whole match) of the LAST match of ``pattern``."""
    compiled = re.compile(pattern, re.S)

    def extract(text: str) -> str | None:
        last = None
        for last in compiled.finditer(text):  # noqa: B007 - the last match is the answer
            pass
        if last is None:
            return None
        return (last.group(1) if compiled.groups else last.group(0)).strip()

    return extract


def whole_text(text: str) -> str | None:
    return text.strip() or None


def normalize_text(text: str) -> str:
    """Case-folded, inner whitespace collapsed, surrounding ``$`` and punctuation removed."""
    return _SPACES.sub(" ", text).strip(_STRIP_CHARS).casefold()


def same_answer(predicted: str | None, reference: str | None, *, rel_tol: float = 1e-6,
                abs_tol: float = 0.0) -> bool:
    """Numerically equal within the tolerance when both read as numbers, else equal normalized strings."""
    if predicted is None or reference is None:
        return False
    a, b = number_value(predicted), number_value(reference)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)
    return normalize_text(predicted) == normalize_text(reference)


EXTRACTORS: dict[str, Callable[[str], str | None]] = {
    "last_number": last_number,
    "boxed": boxed,
    "text": whole_text,
}


def build_extractor(name: str, *, pattern: str | None = None, letters: str = "ABCD") -> Callable[[str], str | None]:
    """The extractor called ``name`` (``last_number``, ``boxed``, ``choice``, ``regex``, ``text``)."""
    if name == "choice":
        return make_choice(letters)
    if name == "regex":
        if not pattern:
            raise ValueError("the regex extractor needs a 'pattern'")
        return make_regex(pattern)
    return EXTRACTORS[name]
