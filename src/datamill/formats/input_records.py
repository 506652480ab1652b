"""An input read straight into canonical records, outside a run: what a step compares against (an evaluation
set for ``check_leakage``) and what ``datamill plan`` counts.

The same readers and format adapters as the read stage (detection unless the input names its format, the
``fields`` mapping, ``limit``), and the same record ids (``<name>:<row>``, or ``<name>:<file>:<row>`` for
several files). Nothing is written: rows that cannot become a record are returned as
:class:`Unreadable` with their location and reason, for the caller to count and report.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.registry import adapter_for_hint, detect_format, get_adapter
from datamill.io.read import read_rows
from datamill.io.rows import RawRow
from datamill.io.sources import SourceFile, expand_input
from datamill.recipe.model import InputSpec
from datamill.records import Record

DETECT_SAMPLE = 200


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A row that did not become a record."""

    location: str
    error: str


def _adapter(spec: InputSpec, source: SourceFile, sample: list[RawRow]) -> FormatAdapter:
    config = AdapterConfig(fields=spec.fields, options=spec.options, kind=spec.kind)
    if spec.format != "auto":
        return get_adapter(spec.format, config)
    if source.hint and not spec.fields:
        return adapter_for_hint(source.hint)
    rows = [r.value for r in sample if r.error is None and isinstance(r.value, dict)]
    return get_adapter(detect_format(rows, config).format, config)


def _labels(files: list[SourceFile]) -> list[str | None]:
    if len(files) == 1:
        return [None]
    urls = [f.url for f in files]
    cut = os.path.commonprefix(urls).rfind("/") + 1  # noqa: RUF071 - by character, cut at the last '/'
    return [u[cut:] or u for u in urls]


def input_records(spec: InputSpec, base_dir: Path, name: str) -> Iterator[Record | Unreadable]:
    """Every row of ``spec`` as a canonical record (``id`` ``<name>:<row>``, ``source`` ``name``), or as an
    :class:`Unreadable`. Raises :class:`~datamill.errors.InputError` when the input names no file."""
    files = expand_input(spec, base_dir)
    for source, label in zip(files, _labels(files), strict=True):
        rows: Iterator[RawRow] = iter(read_rows(source))
        if spec.limit is not None:
            rows = itertools.islice(rows, spec.limit)
        sample = list(itertools.islice(rows, DETECT_SAMPLE))
        adapter = _adapter(spec, source, sample)
        prefix = name if label is None else f"{name}:{label}"
        for row_no, row in enumerate(itertools.chain(sample, rows)):
            if row.error is not None:
                yield Unreadable(row.location, row.error)
                continue
            if not isinstance(row.value, dict):
                yield Unreadable(row.location, f"not a JSON object (got {type(row.value).__name__})")
                continue
            try:
                mapped = adapter.to_records(row.value)
            except AdapterError as exc:
                yield Unreadable(row.location, f"{adapter.name}: {exc}")
                continue
            for k, fields in enumerate(mapped):
                record: Record = {"id": f"{prefix}:{row_no}" + (f"#{k}" if k else ""), "source": name,
                                  "source_id": row.location}
                record.update(fields)
                if spec.kind:
                    record["kind"] = spec.kind
                yield record
