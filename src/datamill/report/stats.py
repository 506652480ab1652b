"""Per-stage counts that must reconcile: ``in + generated = out + dropped + quarantined``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageStats:
    """Counts for one stage (or one shard of it). ``dropped`` maps reason -> count."""

    records_in: int = 0
    records_out: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    seconds: float = 0.0
    notes: Counter[str] = field(default_factory=Counter)
    #: records a step added (quota synthesis); 0 for every other step
    generated: int = 0

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def reconciles(self) -> bool:
        return self.records_in + self.generated == self.records_out + self.dropped_total + self.quarantined

    def add(self, other: StageStats) -> None:
        self.records_in += other.records_in
        self.records_out += other.records_out
        self.dropped.update(other.dropped)
        self.quarantined += other.quarantined
        self.seconds += other.seconds
        self.notes.update(other.notes)
        self.generated += other.generated

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "in": self.records_in,
            "out": self.records_out,
            "dropped": dict(sorted(self.dropped.items())),
            "quarantined": self.quarantined,
            "seconds": round(self.seconds, 3),
            "notes": dict(sorted(self.notes.items())),
        }
        if self.generated:
            data["generated"] = self.generated
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StageStats:
        return cls(
            records_in=int(data["in"]),
            records_out=int(data["out"]),
            dropped=Counter({str(k): int(v) for k, v in data.get("dropped", {}).items()}),
            quarantined=int(data.get("quarantined", 0)),
            seconds=float(data.get("seconds", 0.0)),
            notes=Counter({str(k): int(v) for k, v in data.get("notes", {}).items()}),
            generated=int(data.get("generated", 0)),
        )
