"""The read stage, worker side: one input file -> canonical records in shards, bad rows quarantined.

Each file is read by one task. Rows are detected (unless the recipe names the format), mapped by a
format adapter, given provenance (``id``, ``source``, ``source_id``) and written to shards of
``shard_size`` records named ``iII-fFFFFF-cCCCCCC``. A row that cannot be parsed or mapped goes to
``quarantine/`` with its location and the reason. When the file is finished, a marker with its
statistics is published; on resume, files without a marker are read again from the start.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datamill.errors import FormatDetectionError
from datamill.exec import progress
from datamill.exec.shards import SHARD_SUFFIX, JsonlSink, ShardWriter
from datamill.exec.workdir import write_json_atomic
from datamill.formats.base import AdapterConfig, AdapterError, Detection, FormatAdapter
from datamill.formats.input_records import choose_adapter, detection_sample
from datamill.io.options import inapplicable
from datamill.io.read import RowStream, read_rows
from datamill.io.rows import RawRow
from datamill.io.sources import SourceFile
from datamill.records import Record
from datamill.report.profile import Profile, ProfileSpec
from datamill.report.stats import StageStats


@dataclass(frozen=True)
class IngestTask:
    """Everything a worker needs to read one file (picklable)."""

    input_index: int
    file_index: int
    source_name: str
    file_label: str | None  # None when the input has a single file
    source: SourceFile
    format: str
    fields: dict[str, str]
    options: dict[str, Any]
    kind: str | None
    limit: int | None
    shard_size: int
    stage_path: Path
    quarantine_path: Path
    progress_key: str = "read"
    #: collect the build report's full profile of the records (when the read is the run's last stage)
    profile: bool = False

    @property
    def prefix(self) -> str:
        return f"i{self.input_index:02d}-f{self.file_index:05d}"

    @property
    def marker(self) -> Path:
        return self.stage_path / "_files" / f"{self.prefix}.json"

    @property
    def profile_path(self) -> Path:
        return self.stage_path / "_files" / f"{self.prefix}.profile.json"


def _choose_adapter(task: IngestTask, sample: list[RawRow]) -> tuple[FormatAdapter | None, Detection | None]:
    """The adapter for the file and how it was detected (:func:`choose_adapter`, shared with inputs read
    outside a run); ``None`` when the sample holds no readable row (all of it goes to quarantine)."""
    return choose_adapter(task.format, AdapterConfig(fields=task.fields, options=task.options, kind=task.kind),
                          task.source, sample)


def _record_id(task: IngestTask, row_no: int) -> str:
    if task.file_label is None:
        return f"{task.source_name}:{row_no}"
    return f"{task.source_name}:{task.file_label}:{row_no}"


def _quarantine_entry(task: IngestTask, row: RawRow, error: str, stage: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"stage": stage, "source": task.source_name, "location": row.location, "error": error}
    if row.offset is not None:
        entry["offset"] = row.offset
    if row.value is not None:
        entry["row"] = row.value
    elif row.raw is not None:
        entry["raw"] = row.raw
    return entry


def _file_notes(task: IngestTask, rows: RowStream, adapter: FormatAdapter | None, stats: StageStats) -> None:
    """What the reader noticed about the whole file (an unclosed array, skipped archive members,
    options that do nothing for this container) goes to the file's notes, never only to a log."""
    for note in rows.report.notes:
        stats.notes[note] += 1
    for reason, count in rows.members.skipped.items():
        stats.notes[f"archive members skipped: {reason}"] += count
    own = adapter.options if adapter is not None else {}
    given = {k: v for k, v in task.options.items() if k not in own}
    for _, detection in rows.detections:
        unused = inapplicable(given, detection.file_format)
        if unused:
            stats.notes[f"options {', '.join(unused)} do not apply to {detection.file_format} files: ignored"] += 1


def ingest_file(task: IngestTask) -> dict[str, Any]:
    """Read one file into shards. Returns the file's marker data (stats, detection, shard names)."""
    started = time.perf_counter()
    stats = StageStats()
    rows = read_rows(task.source)
    iterator: Iterator[RawRow] = iter(rows)
    if task.limit is not None:
        iterator = itertools.islice(iterator, task.limit)
    sample = detection_sample(iterator)
    adapter, detection = _choose_adapter(task, sample)
    quarantine = JsonlSink(task.quarantine_path / f"read-{task.source_name}-{task.prefix}.jsonl")
    shards: list[str] = []
    writer: ShardWriter | None = None
    profile = Profile(ProfileSpec(full=True)) if task.profile else None
    try:
        for row_no, row in enumerate(itertools.chain(sample, iterator)):
            stats.records_in += 1
            if row.note:
                stats.notes[row.note] += 1
            if row.error is not None:
                quarantine.write(_quarantine_entry(task, row, row.error, "read"))
                stats.quarantined += 1
                continue
            if not isinstance(row.value, dict):
                got = "null" if row.value is None else type(row.value).__name__
                quarantine.write(_quarantine_entry(task, row, f"not a JSON object (got {got})", "read"))
                stats.quarantined += 1
                continue
            if adapter is None:  # unreachable: detection only gives up when no row is an object
                raise FormatDetectionError(f"{task.source.display}: no readable row to detect the record format from")
            try:
                mapped_all = adapter.to_records(row.value)
            except AdapterError as exc:
                quarantine.write(_quarantine_entry(task, row, f"{adapter.name}: {exc}", "read"))
                stats.quarantined += 1
                continue
            for k, mapped in enumerate(mapped_all):  # several only for ranked/traces with pairs: all
                record_id = _record_id(task, row_no) + (f"#{k}" if k else "")
                record: Record = {"id": record_id, "source": task.source_name, "source_id": row.location}
                record.update(mapped)
                if task.kind:
                    record["kind"] = task.kind
                if writer is None or writer.count >= task.shard_size:
                    if writer is not None:
                        writer.close()
                    name = f"{task.prefix}-c{len(shards):06d}"
                    shards.append(name)
                    writer = ShardWriter(task.stage_path / f"{name}{SHARD_SUFFIX}")
                writer.write(record)
                if profile is not None:
                    profile.kept(record)
                stats.records_out += 1
                stats.generated += 1 if k else 0
            progress.tick(task.progress_key)
        if writer is not None:
            writer.close()
        quarantine.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        quarantine.abort()
        raise
    for attr, note in (("blank_lines", "blank lines skipped"), ("bom", "BOM removed")):
        value = getattr(rows, attr, 0)
        if value:
            stats.notes[note] += int(value)
    _file_notes(task, rows, adapter, stats)
    stats.seconds = time.perf_counter() - started
    marker = {
        "file": task.source.display,
        "url": task.source.url,
        "format": adapter.name if adapter is not None else None,
        "detection": None if detection is None else {
            "format": detection.format, "confidence": round(detection.confidence, 3),
            "fields": detection.fields, "sampled": detection.sampled,
            "candidates": {k: round(v, 3) for k, v in detection.candidates.items()},
            **({"mapping": detection.mapping} if detection.mapping else {}),
        },
        "file_detection": getattr(rows, "detection_description", None),
        "shards": shards,
        "stats": stats.to_json(),
        **({"skipped_members": rows.members.examples} if rows.members.skipped else {}),
    }
    progress.flush()
    if profile is not None:
        profile.write(task.profile_path)
    write_json_atomic(task.marker, marker)
    return marker
