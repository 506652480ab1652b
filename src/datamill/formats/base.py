"""Format adapters: map one input row (a dict) onto a canonical record, and say how well a row fits.

An adapter is small: ``score(row)`` in [0, 1] for detection (with the fields it used), and
``to_record(row)`` that returns the canonical fields or raises :class:`AdapterError` with a reason
(the row then goes to quarantine). Provenance (``id``, ``source``, ``source_id``) is added by the
ingest stage, not by adapters. Every original field an adapter does not map is kept in ``meta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from datamill.errors import RecipeError
from datamill.records import KINDS, Record


class AdapterError(ValueError):
    """A row that does not fit the adapter's format; the message is the quarantine reason."""


@dataclass(frozen=True)
class AdapterConfig:
    """Per-input settings: the recipe's ``fields`` mapping and options, or a dataset_info.json entry."""

    fields: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    kind: str | None = None


class FormatAdapter:
    """Base class. Subclasses set ``name``, ``description`` and implement ``score`` and ``to_record``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: Detection tie-break: of two formats scoring within 0.05 of each other, the strictly more
    #: specific one wins (canonical 4 > alpaca, sharegpt, openai, firefly 3 > text 2 > qa 1 > raw 0).
    specificity: ClassVar[int] = 0

    def __init__(self, config: AdapterConfig | None = None) -> None:
        self.config = config or AdapterConfig()
        if self.config.kind is not None and self.config.kind not in KINDS:
            known = ", ".join(KINDS)
            raise RecipeError(f"unknown kind '{self.config.kind}' (known: {known})", location="kind")

    def score(self, row: Mapping[str, Any]) -> float:
        """How well ``row`` fits this format: 0 (not at all) to 1 (certainly)."""
        raise NotImplementedError

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        """The row's fields this adapter reads, for the detection report."""
        return []

    def to_record(self, row: Mapping[str, Any]) -> Record:
        raise NotImplementedError


@dataclass(frozen=True)
class Detection:
    """The result of record-format detection over a sample of rows."""

    format: str
    confidence: float
    fields: list[str]
    sampled: int
    candidates: dict[str, float]

    def describe(self) -> str:
        return (
            f"{self.format} (confidence {self.confidence:.2f} over {self.sampled} rows; "
            f"fields: {', '.join(self.fields) or '-'})"
        )
