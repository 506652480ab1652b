"""What readers yield: one :class:`RawRow` per row of input, parsed or not.

A reader never raises for a bad row: it yields a row with ``error`` set and the executor sends it to
``quarantine/`` with its location. Recovered rows (a GBK line in a UTF-8 file, a BOM) carry a ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class RawRow:
    """One row of an input file.

    ``value`` is the parsed object (a dict for record formats) or ``None`` when ``error`` is set.
    ``location`` is human-readable and stable: ``path:line`` for line formats, ``path#index`` otherwise.
    ``raw`` keeps (a prefix of) the undecodable text for the quarantine file.
    """

    value: Any
    location: str
    error: str | None = None
    note: str | None = None
    raw: str | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class FileDetection:
    """How a file's container format was decided: reported by ``inspect`` and in the run log."""

    file_format: str
    confidence: float
    reason: str
    options: dict[str, Any]
