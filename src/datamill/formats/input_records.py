"""An input read as canonical records, and the choices the read stage makes for every file: which rows
detection looks at (:func:`detection_sample`), which adapter maps them (:func:`choose_adapter`) and the
per-file labels of record ids (:func:`file_labels`).

:func:`input_records` reads an input outside a run: what a step compares against (an evaluation set for
``check_leakage``) and what ``datamill plan`` counts. The same readers and adapters as the read stage
(detection unless the input names its format, the ``fields`` mapping, ``limit``), and the same record ids
(``<name>:<row>``, or ``<name>:<file>:<row>`` for several files). Nothing is written: rows that cannot
become a record are returned as :class:`Unreadable` with their location and reason, for the caller to
count and report.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datamill.formats.base import AdapterConfig, AdapterError, Detection, FormatAdapter
from datamill.formats.registry import adapter_for_hint, detect_format, get_adapter
from datamill.io.read import read_rows
from datamill.io.rows import RawRow
from datamill.io.sources import SourceFile, expand_input
from datamill.recipe.model import InputSpec
from datamill.records import Record

DETECT_SAMPLE = 200
#: Rows read while looking for the first readable one before giving up on detection.
MAX_BROKEN_LEAD = 100_000


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A row that did not become a record."""

    location: str
    error: str


def detection_sample(iterator: Iterator[RawRow]) -> list[RawRow]:
    """The first :data:`DETECT_SAMPLE` rows, read on (up to :data:`MAX_BROKEN_LEAD` rows) while none of
    them is readable, so that a file starting with broken lines is still detected from its good ones."""
    sample = list(itertools.islice(iterator, DETECT_SAMPLE))
    while not any(r.error is None and isinstance(r.value, dict) for r in sample) and len(sample) < MAX_BROKEN_LEAD:
        more = list(itertools.islice(iterator, DETECT_SAMPLE))
        if not more:
            break
        sample.extend(more)
    return sample


def choose_adapter(record_format: str, config: AdapterConfig, source: SourceFile,
                   sample: list[RawRow]) -> tuple[FormatAdapter | None, Detection | None]:
    """The adapter for a file, and how it was detected; ``None`` when detection is needed but the sample
    holds no readable row (the file is empty, or every row is broken)."""
    if record_format != "auto":
        return get_adapter(record_format, config), None
    if source.hint and not config.fields:
        return adapter_for_hint(source.hint), None
    rows = [r.value for r in sample if r.error is None and isinstance(r.value, dict)]
    if not rows:
        return None, None
    detection = detect_format(rows, config, source=source.display)
    return get_adapter(detection.format, config), detection


def file_labels(files: list[SourceFile]) -> list[str | None]:
    """Short per-file labels for record ids: each path relative to the files' common folder
    (``part0.jsonl.gz``), so ids do not depend on where the data lives (local, s3://...)."""
    if len(files) == 1:
        return [None]
    urls = [f.url for f in files]
    prefix = os.path.commonprefix(urls)  # noqa: RUF071 - by character on purpose, cut at the last '/'
    cut = prefix.rfind("/") + 1
    return [u[cut:] or u for u in urls]


def input_records(spec: InputSpec, base_dir: Path, name: str) -> Iterator[Record | Unreadable]:
    """Every row of ``spec`` as a canonical record (``id`` ``<name>:<row>``, ``source`` ``name``), or as an
    :class:`Unreadable`. Raises :class:`~datamill.errors.InputError` when the input names no file."""
    files = expand_input(spec, base_dir)
    config = AdapterConfig(fields=spec.fields, options=spec.options, kind=spec.kind)
    for source, label in zip(files, file_labels(files), strict=True):
        rows: Iterator[RawRow] = iter(read_rows(source))
        if spec.limit is not None:
            rows = itertools.islice(rows, spec.limit)
        sample = detection_sample(rows)
        adapter, _ = choose_adapter(spec.format, config, source, sample)
        prefix = name if label is None else f"{name}:{label}"
        for row_no, row in enumerate(itertools.chain(sample, rows)):
            if row.error is not None:
                yield Unreadable(row.location, row.error)
                continue
            if not isinstance(row.value, dict):
                yield Unreadable(row.location, f"not a JSON object (got {type(row.value).__name__})")
                continue
            if adapter is None:
                yield Unreadable(row.location, "no readable row to detect the record format from")
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
