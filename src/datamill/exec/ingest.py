"""The read stage, worker side: one input file -> canonical records in shards, bad rows quarantined.

Each file is read by one task. Rows are detected (unless the recipe names the format), mapped by a
format adapter and given provenance (``id``, ``source``, ``source_id``); every ``shard_size`` rows make
one chunk (``iII-fFFFFF-cCCCCCC``) that flows through the row steps fused with the read (see
:mod:`datamill.exec.segment`). A row that cannot be parsed or mapped goes to ``quarantine/`` with its
location and the reason. When the file is finished, a marker with its statistics is published; on
resume, files without a marker are read again from the start.
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
from datamill.exec.ranges import ByteRange, RangeRows
from datamill.exec.segment import BATCH, Chain, Chunk, run_chunks
from datamill.exec.shards import JsonlSink
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
    chain: Chain
    progress_key: str = "read"
    #: a byte range of a big JSON Lines file (read by several tasks), or None for the whole file
    byte_range: ByteRange | None = None
    #: the record-format detection made once for every range of a file (reported by its first range)
    detection: Detection | None = None
    #: collect the build report's full profile of the records (when the read is the run's last stage)
    profile: bool = False

    @property
    def prefix(self) -> str:
        base = f"i{self.input_index:02d}-f{self.file_index:05d}"
        return base if self.byte_range is None else f"{base}-r{self.byte_range.index:05d}"

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


def _file_notes(task: IngestTask, rows: RowStream | RangeRows, adapter: FormatAdapter | None,
                stats: StageStats) -> None:
    """What the reader noticed about the whole file (an unclosed array, skipped archive members,
    options that do nothing for this container) goes to the file's notes, never only to a log."""
    for note in rows.report.notes:
        stats.notes[note] += 1
    members = getattr(rows, "members", None)  # a byte range of a plain file has no archive members
    for reason, count in (members.skipped.items() if members is not None else ()):
        stats.notes[f"archive members skipped: {reason}"] += count
    own = adapter.options if adapter is not None else {}
    given = {k: v for k, v in task.options.items() if k not in own}
    for _, detection in rows.detections:
        unused = inapplicable(given, detection.file_format)
        if unused:
            stats.notes[f"options {', '.join(unused)} do not apply to {detection.file_format} files: ignored"] += 1


class _Reader:
    """Rows of one file -> canonical records, chunk by chunk (``shard_size`` rows each); counts into ``stats``."""

    def __init__(self, task: IngestTask) -> None:
        self.task = task
        self.stats = StageStats()
        r = task.byte_range
        self.rows: Any = read_rows(task.source) if r is None else RangeRows(task.source, r)
        iterator: Iterator[RawRow] = iter(self.rows)
        if task.limit is not None:
            iterator = itertools.islice(iterator, task.limit)
        sample = detection_sample(iterator) if r is None else []
        self.adapter, self.detection = _choose_adapter(task, sample)
        if r is not None:
            self.detection = task.detection if r.index == 0 else None
        self._rows = enumerate(itertools.chain(sample, iterator), start=0 if r is None else r.first_row)
        self._next: tuple[int, RawRow] | None = next(self._rows, None)
        self.quarantine = JsonlSink(task.quarantine_path / f"read-{task.source_name}-{task.prefix}.jsonl")
        self.profile = Profile(ProfileSpec(full=True)) if task.profile else None

    def more(self) -> bool:
        return self._next is not None

    def chunk(self) -> Iterator[list[Record]]:
        """The records of the next ``shard_size`` rows, in batches."""
        task = self.task
        stats = self.stats
        batch: list[Record] = []
        started = time.process_time()
        for _ in range(task.shard_size):
            item = self._next
            if item is None:
                break
            row_no, row = item
            stats.records_in += 1
            if row.note:
                stats.notes[row.note] += 1
            if row.error is not None:
                self.quarantine.write(_quarantine_entry(task, row, row.error, "read"))
                stats.quarantined += 1
            elif not isinstance(row.value, dict):
                got = "null" if row.value is None else type(row.value).__name__
                self.quarantine.write(_quarantine_entry(task, row, f"not a JSON object (got {got})", "read"))
                stats.quarantined += 1
            else:
                if self.adapter is None:  # unreachable: detection only gives up when no row is an object
                    raise FormatDetectionError(f"{task.source.display}: no readable row to detect the record "
                                               "format from")
                try:
                    mapped_all = self.adapter.to_records(row.value)
                except AdapterError as exc:
                    self.quarantine.write(_quarantine_entry(task, row, f"{self.adapter.name}: {exc}", "read"))
                    stats.quarantined += 1
                    mapped_all = []
                for k, mapped in enumerate(mapped_all):  # several only for ranked/traces with pairs: all
                    record_id = _record_id(task, row_no) + (f"#{k}" if k else "")
                    record: Record = {"id": record_id, "source": task.source_name, "source_id": row.location}
                    record.update(mapped)
                    if task.kind:
                        record["kind"] = task.kind
                    batch.append(record)
                    if self.profile is not None:
                        self.profile.kept(record)
                    stats.records_out += 1
                    stats.generated += 1 if k else 0
            self._next = next(self._rows, None)
            if len(batch) >= BATCH:
                stats.seconds += time.process_time() - started
                yield batch
                started = time.process_time()
                batch = []
        stats.seconds += time.process_time() - started
        if batch:
            yield batch

    def marker(self, shards: list[str]) -> dict[str, Any]:
        for attr, note in (("blank_lines", "blank lines skipped"), ("bom", "BOM removed")):
            value = getattr(self.rows, attr, 0)
            if value:
                self.stats.notes[note] += int(value)
        _file_notes(self.task, self.rows, self.adapter, self.stats)
        detection = self.detection
        members = getattr(self.rows, "members", None)
        return {
            "file": self.task.source.display,
            "url": self.task.source.url,
            "format": self.adapter.name if self.adapter is not None else None,
            "detection": None if detection is None else {
                "format": detection.format, "confidence": round(detection.confidence, 3),
                "fields": detection.fields, "sampled": detection.sampled,
                "candidates": {k: round(v, 3) for k, v in detection.candidates.items()},
                **({"mapping": detection.mapping} if detection.mapping else {}),
            },
            "file_detection": getattr(self.rows, "detection_description", None),
            "shards": shards,
            "stats": self.stats.to_json(),
            **({"skipped_members": members.examples} if members is not None and members.skipped else {}),
        }


def ingest_file(task: IngestTask) -> dict[str, Any]:
    """Read one file through the read segment's chain: one shard per ``shard_size`` rows (named
    ``PREFIX-cNNNNNN``), each through every fused step. Returns the file's marker (stats, detection, shard
    names), published last: a file without its marker is read again from the start on resume."""
    reader = _Reader(task)
    shards: list[str] = []
    try:
        while reader.more():
            name = f"{task.prefix}-c{len(shards):06d}"
            run_chunks(task.chain, iter([Chunk(name, records=reader.chunk())]))
            shards.append(name)
        reader.quarantine.close()
    except BaseException:
        reader.quarantine.abort()
        raise
    marker = reader.marker(shards)
    progress.flush()
    if reader.profile is not None:
        reader.profile.write(task.profile_path)
    write_json_atomic(task.marker, marker)
    return marker
