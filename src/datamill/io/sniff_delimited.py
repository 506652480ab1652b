"""Guess the delimiter, quoting and header row of delimited text (CSV, TSV, space-separated tables)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

#: The delimiter value meaning "runs of spaces and tabs" (``a  b\tc``); such files are never quoted.
WHITESPACE = "whitespace"

_CANDIDATES = ("\t", ",", ";", "|", WHITESPACE)
_DELIMITER_NAMES = {
    "tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": WHITESPACE,
    "spaces": WHITESPACE, WHITESPACE: WHITESPACE,
}
_WS_SPLIT = re.compile(r"[ \t]+")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")
_NAME_LIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .()/#-]{0,47}$")
_MAX_ROWS = 200


def resolve_delimiter(value: object) -> str:
    """A delimiter from a recipe: a character, or a name (``tab``, ``comma``, ``whitespace``...)."""
    text = str(value)
    return _DELIMITER_NAMES.get(text.lower(), text)


@dataclass(frozen=True)
class Delimited:
    """A sniffed table layout: ``columns`` is the modal field count, ``consistency`` its share of rows."""

    delimiter: str
    quoting: bool
    columns: int
    consistency: float
    first_row_fits: bool

    def describe(self) -> str:
        names = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", WHITESPACE: "runs of spaces/tabs"}
        name = names.get(self.delimiter, repr(self.delimiter))
        return f"{name}-separated, {self.columns} columns in {self.consistency:.0%} of sampled rows"


def split_rows(text: str, delimiter: str, quoting: bool, complete: bool) -> list[list[str]]:
    """Parse a sample into rows (blank lines dropped); the last row is dropped unless ``complete``."""
    if not complete:
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut >= 0 else ""
    if delimiter == WHITESPACE:
        rows = [_WS_SPLIT.split(line.strip()) for line in text.splitlines() if line.strip()]
    else:
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                                quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE)
            rows = [row for _, row in zip(range(_MAX_ROWS + 1), reader, strict=False) if row]
        except csv.Error:
            return []
    return rows[:_MAX_ROWS]


def _layout(text: str, delimiter: str, quoting: bool, complete: bool) -> Delimited | None:
    rows = split_rows(text, delimiter, quoting, complete)
    if not rows:
        return None
    counts = Counter(len(r) for r in rows[1:] or rows)
    columns, hits = counts.most_common(1)[0]
    if columns < 2:
        return None
    sampled = len(rows) - 1 if len(rows) > 1 else 1
    return Delimited(delimiter, quoting, columns, hits / sampled, len(rows[0]) == columns)


def sniff_delimiter(text: str, complete: bool, preferred: str | None = None) -> Delimited | None:
    """The most plausible layout of ``text``, or None when no delimiter gives two or more columns.

    Candidates are tab, comma, semicolon, pipe and runs of whitespace. A layout wins on (the first row
    has the modal number of fields, share of rows with that number, number of columns); ``preferred``
    (from the file extension) wins ties. Tabs and whitespace default to no quoting (TSV files rarely
    quote and often contain stray ``"``); quoting is used only when it makes the rows more regular.
    """
    layouts = []
    for delimiter in _CANDIDATES:
        if delimiter == WHITESPACE:
            found = _layout(text, delimiter, False, complete)
        elif delimiter == "\t":
            plain = _layout(text, delimiter, False, complete)
            quoted = _layout(text, delimiter, True, complete)
            found = quoted if quoted and (not plain or quoted.consistency > plain.consistency) else plain
        else:
            found = _layout(text, delimiter, True, complete)
        if found is not None:
            layouts.append(found)
    if not layouts:
        return None

    def score(layout: Delimited) -> tuple[bool, float, bool, int]:
        regular = layout.consistency >= 0.9
        return (regular and layout.first_row_fits, round(layout.consistency, 2),
                layout.delimiter == preferred, layout.columns)

    best = max(layouts, key=score)
    return best if best.consistency >= 0.6 else None


def is_number(value: str) -> bool:
    return bool(_NUMBER.match(value.strip()))


def _name_like(value: str) -> bool:
    return bool(_NAME_LIKE.match(value.strip())) and len(value.split()) <= 4


def sniff_header(rows: list[list[str]]) -> tuple[bool, str]:
    """Whether the first row names the columns, with the reason.

    A header has unique, non-empty, non-numeric cells, and at least one column where it stands out:
    the column's values are numeric, or the header cell is a short identifier-like name while the
    values are mostly not. A header cell that reappears among its column's values counts against.
    """
    if not rows:
        return False, "no rows"
    first, data = rows[0], rows[1:]
    cells = [c.strip() for c in first]
    if any(not c for c in cells) or len(set(cells)) < len(cells):
        return False, "first row has empty or repeated cells"
    if any(is_number(c) for c in cells):
        return False, "first row contains numbers"
    if not data:
        ok = all(_name_like(c) for c in cells)
        return ok, "single row of name-like cells" if ok else "single row"
    votes_for = votes_against = 0
    for j, head in enumerate(cells):
        column = [r[j].strip() for r in data if len(r) > j and r[j].strip()]
        if not column:
            continue
        numeric = sum(map(is_number, column)) >= 0.8 * len(column)
        if head in column:
            votes_against += 1
        elif numeric or (_name_like(head) and sum(map(_name_like, column)) < 0.5 * len(column)):
            votes_for += 1
    if votes_for > votes_against:
        return True, f"first row looks like column names ({votes_for} column(s) differ from their values)"
    return False, "first row looks like data"
