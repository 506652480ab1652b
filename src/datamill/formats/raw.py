"""``raw``: no mapping at all; the whole row goes to ``meta`` and the kind is ``raw``.

For tabular inputs (MQM annotations, CSV exports) that later steps reshape into examples. Detection
never prefers it (it scores 0.1): choose it with ``format: raw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datamill.formats.base import AdapterError, FormatAdapter
from datamill.formats.fields import type_name
from datamill.records import Record


class RawAdapter(FormatAdapter):
    """Any object row, kept whole in meta."""

    name = "raw"
    description = "any row, kept whole in meta (kind raw) for later steps to reshape"
    specificity = 0

    def score(self, row: Mapping[str, Any]) -> float:
        return 0.1

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        return list(row)

    def to_record(self, row: Mapping[str, Any]) -> Record:
        if not isinstance(row, Mapping):
            raise AdapterError(f"a row must be an object, got {type_name(row)}")
        return {"kind": self.config.kind or "raw", "meta": dict(row)}
