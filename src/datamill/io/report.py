"""What a reader noticed while reading a file, for the run log and the ingest statistics."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReadReport:
    """Counters filled in while rows are read; complete once the iteration has finished.

    ``rows`` counts every row yielded without an error (recovered rows included), ``errors`` the error
    rows. ``blank_lines`` are skipped and are not rows. ``recovered`` maps a reason ("decoded as GBK",
    "removed NUL bytes") to how many rows were saved that way. ``bom`` is true when a file started with
    a UTF-8 byte order mark (stripped). ``notes`` holds file-level remarks such as an unclosed JSON array.
    """

    rows: int = 0
    errors: int = 0
    blank_lines: int = 0
    recovered: dict[str, int] = field(default_factory=dict)
    bom: bool = False
    notes: list[str] = field(default_factory=list)

    def recover(self, reason: str) -> None:
        self.recovered[reason] = self.recovered.get(reason, 0) + 1
