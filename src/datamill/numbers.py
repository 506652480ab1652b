"""Numbers as steps read them: real numbers, and numeric strings from CSV/TSV columns.

CSV and TSV readers keep every column as text (``"72.5"``), so a step that reads a number (a score
threshold, a survivor policy, an expression comparing with a number) accepts a numeric string and
counts it (``coerced_numeric`` in the stage's notes) instead of treating it as missing.

What counts as a number:

* ``int`` and ``float`` values (``bool`` does not: ``true`` is not a score); ``NaN`` does not;
* a string that, without the whitespace around it, is a decimal literal: ``50``, ``-3.5``, ``+2``,
  ``.5``, ``1e3``, ``1.5E-2``. An integer literal gives an ``int``, anything else a ``float``.

What does not (the value stays missing, and the step says so with the value):

* empty or blank strings, ``nan``, ``inf``, ``infinity`` (not a measurement);
* thousands separators (``1,234``) and decimal commas (``1,5``): the two cannot be told apart
  (``1,500`` is 1500 in one locale and 1.5 in another), so neither is guessed;
* units and signs around the number (``50%``, ``$3``), and Python-only forms (``1_000``, ``0x1f``).
"""

from __future__ import annotations

import math
import re
from typing import Any

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)


def parse_number(text: str) -> int | float | None:
    """A numeric string as a number (see the module docs), or ``None``."""
    stripped = text.strip()
    if not _DECIMAL.fullmatch(stripped):
        return None
    if _INTEGER.fullmatch(stripped):
        return int(stripped)
    number = float(stripped)
    return number if math.isfinite(number) else None


def as_number(value: Any) -> tuple[int | float | None, bool]:
    """``(number, coerced)``: the value as a number (``None`` when it is not one) and whether it was a
    numeric string."""
    if isinstance(value, bool):
        return None, False
    if isinstance(value, int):
        return value, False
    if isinstance(value, float):
        return (value, False) if not math.isnan(value) else (None, False)
    if isinstance(value, str):
        number = parse_number(value)
        return number, number is not None
    return None, False
