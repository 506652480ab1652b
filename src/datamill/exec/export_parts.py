"""Parallel export: every worker writes its shards' part of each output file, then the parts are joined.

Each final shard is converted by one task into one part per output file (the file a record goes to is
decided by ``split_by``), plus the shard's refused records and the status of each of its records (for
the run's once-per-record accounting). Joining concatenates the parts in shard order with the writer's
framing (:attr:`~datamill.export.base.RowWriter.joinable`), never decoding a record again, so the files
are byte-identical to what one process writing every record in order produces. A shard's part is done
when its marker (``parts/<shard>.json``) exists; a killed export redoes only unfinished shards.

Where the exporter writes records exactly as they are stored (``passthrough``: canonical JSON Lines)
and nothing needs their fields (no ``where``; ``split_by`` set only where a record can have the field),
the stored bytes are copied without decoding.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from datamill.exec import progress, store
from datamill.exec.export_stage import ExportRun, Router, file_key
from datamill.exec.shards import JsonlSink, commit, read_shard_blocks, read_shard_lines, tmp_path
from datamill.exec.workdir import read_json, write_bytes_atomic, write_json_atomic
from datamill.export.base import ExportedFile, Exporter
from datamill.recipe.model import OutputSpec
from datamill.report.profile import merge_profiles
from datamill.report.stats import StageStats
from datamill.steps.base import Drop


def joinable(exporter: Exporter) -> str | None:
    """How this exporter's files join (None: they do not, the export runs in one process)."""
    return getattr(exporter.writer(io.BytesIO()), "joinable", None)


@dataclass(frozen=True)
class PartTask:
    """Convert one final shard for one output."""

    spec: OutputSpec
    exporter: Exporter
    shard: str
    input_path: Path
    parts: Path  # the output's parts folder
    progress_key: str
    #: sample the rows written for the build report (each row's id is read); without it a copied shard is
    #: written in blocks of lines
    sample: bool = True

    @property
    def marker(self) -> Path:
        return self.parts / f"{self.shard}.json"


class _Parts:
    """The part files of one shard, one per output file key, in the order keys first appear."""

    def __init__(self, task: PartTask) -> None:
        self.task = task
        self.files: dict[str | None, tuple[int, Path, IO[bytes], Any]] = {}
        self.counts: dict[str | None, int] = {}

    def writer(self, key: str | None) -> Any:
        if key not in self.files:
            n = len(self.files)
            path = self.task.parts / self.task.shard / f"{n}.part"
            fh = open(tmp_path(path), "wb")  # noqa: SIM115 - closed in close()
            self.files[key] = (n, path, fh, self.task.exporter.writer(fh))
            self.counts[key] = 0
        self.counts[key] += 1
        return self.files[key][3]

    def raw(self, key: str | None) -> IO[bytes]:
        self.writer(key)
        return self.files[key][2]

    def raw_block(self, key: str | None, data: bytes, lines: int) -> None:
        """Write ``lines`` stored lines (with their newlines) at once to the file of ``key``."""
        self.raw(key).write(data)
        self.counts[key] += lines - 1

    def close(self) -> list[list[Any]]:
        keys = []
        for key, (n, path, fh, writer) in self.files.items():
            writer.close()
            fh.close()
            commit(tmp_path(path), path)
            keys.append([key, n, self.counts[key]])
        return keys

    def abort(self) -> None:
        for _, path, fh, _ in self.files.values():
            fh.close()
            tmp_path(path).unlink(missing_ok=True)


def export_part(task: PartTask) -> int:
    """Convert one shard's records for one output; publishes its parts and its marker (last)."""
    started = time.process_time()
    spec, exporter = task.spec, task.exporter
    parts = _Parts(task)
    dropped = JsonlSink(task.parts / f"{task.shard}.dropped.jsonl")
    router = Router(spec, exporter, dropped)
    single = ExportRun.is_single_file(spec, exporter)
    copy = exporter.passthrough and router.where is None and router.guard is None
    field = None if single or not spec.split_by or "{" in spec.split_by else b'"' + spec.split_by.encode() + b'"'
    blocks = copy and not task.sample and (single or not spec.split_by)
    try:
        if blocks:  # every line goes to the one file as stored: copied in blocks of lines
            for block, lines in read_shard_blocks(task.input_path):
                if lines:
                    parts.raw_block(None, block, lines)
                    router.copied_lines(lines)
                    progress.tick(task.progress_key, lines)
        else:
            for n, line in enumerate(read_shard_lines(task.input_path), start=1):
                if copy:  # the row the exporter would write is the stored line, byte for byte
                    needs_key = not single and spec.split_by and (field is None or field in line)
                    key = file_key(orjson.loads(line), spec.split_by) if needs_key else None
                    parts.raw(key).write(line + b"\n")
                    router.copied(line, key)
                else:
                    record = orjson.loads(line)
                    row = router.row(record)
                    if row is not None:
                        key = None if single else file_key(record, spec.split_by)
                        parts.writer(key).write(row)
                        router.written(record, key, row)
                if n & 1023 == 0:
                    progress.tick(task.progress_key, 1024)
        router.collect_notes()
        keys = parts.close()
        dropped.close()
    except BaseException:
        parts.abort()
        dropped.abort()
        raise
    status = router.status
    if not blocks:
        progress.tick(task.progress_key, len(status) & 1023)
    progress.flush()
    write_bytes_atomic(task.parts / f"{task.shard}.status", bytes(status))
    router.profile.write(task.parts / f"{task.shard}.profile.json")
    router.stats.seconds = time.process_time() - started
    write_json_atomic(task.marker, {"keys": keys, "reasons": {str(k): v for k, v in router.reasons.items()},
                                    "stats": router.stats.to_json(), "first": router.first})
    return len(status)


def join_parts(spec: OutputSpec, exporter: Exporter, target: str, shards: list[str], parts: Path,
               dropped_dir: Path) -> tuple[StageStats, list[ExportedFile], bytearray, dict[int, str]]:
    """Join the parts of every shard into the output's files, in shard order; returns what
    :func:`~datamill.exec.export_stage.export_output` returns for a sequential export."""
    started = time.process_time()
    kind = joinable(exporter)
    assert kind is not None
    run = ExportRun(spec, exporter, target, make_writer=lambda fh: JOINERS[kind](fh))
    stats = StageStats()
    status = bytearray()
    reasons: dict[int, str] = {}
    order: dict[str | None, list[tuple[Path, int]]] = {}
    dropped = JsonlSink(dropped_dir / f"{exporter.name}.jsonl")
    refused = set(store.names(parts, "*.dropped.jsonl"))
    first: Any = None
    try:
        for shard in shards:
            marker = read_json(parts / f"{shard}.json")
            first = first or marker.get("first")
            part_stats = StageStats.from_json(marker["stats"])
            stats.add(part_stats)
            offset = len(status)
            reasons.update({offset + int(k): v for k, v in marker["reasons"].items()})
            status.extend(store.read_bytes(parts / f"{shard}.status"))
            for key, n, count in marker["keys"]:
                order.setdefault(key, []).append((parts / shard / f"{n}.part", count))
            if f"{shard}.dropped.jsonl" in refused:
                with store.open_read(parts / f"{shard}.dropped.jsonl") as fh:
                    for line in fh:
                        dropped.write_line(line)
        Router.check_where(spec, len(status), stats.notes, first)
        merged, _ = merge_profiles([parts / f"{shard}.profile.json" for shard in shards])
        if merged is not None:  # the build report's samples of this output, from every part
            merged.write(parts.parent / "profile.json")
        for key, items in order.items():
            for path, count in items:
                run.write(path, key, records=count)
        files = run.finish()
        stats.notes.update(exporter.take_notes())  # what finishing the files did (the registry)
        dropped.close()
    except BaseException:
        dropped.abort()
        raise
    stats.seconds += time.process_time() - started
    return stats, files, status, reasons


class _Joiner:
    """Writes parts (files one writer wrote for consecutive records) into one file, as rows of a RowWriter."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh

    def write(self, part: Path) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _LinesJoiner(_Joiner):
    def write(self, part: Path) -> None:
        with store.open_read(part) as src:
            while chunk := src.read(1 << 20):
                self.fh.write(chunk)


class _JsonArrayJoiner(_Joiner):
    """Parts are ``[\\n`` + rows joined by ``,\\n`` + ``\\n]\\n`` (or ``[]\\n``); the join is one such array."""

    def __init__(self, fh: IO[bytes]) -> None:
        super().__init__(fh)
        self.first = True

    def write(self, part: Path) -> None:
        data = store.read_bytes(part)
        if data == b"[]\n":
            return
        if not (data.startswith(b"[\n") and data.endswith(b"\n]\n")):
            raise ValueError(f"{part} is not a part written by the JSON array writer")
        self.fh.write((b"[\n" if self.first else b",\n") + data[2:-3])
        self.first = False

    def close(self) -> None:
        self.fh.write(b"[]\n" if self.first else b"\n]\n")


class _ParquetJoiner(_Joiner):
    """Row groups of the writer's batch size across parts, so the file equals a single writer's."""

    def __init__(self, fh: IO[bytes]) -> None:
        super().__init__(fh)
        import pyarrow as pa
        import pyarrow.parquet as pq

        from datamill.export.parquet import SCHEMA, ParquetRowWriter

        self.pa = pa
        self.batch = ParquetRowWriter.BATCH
        self.writer = pq.ParquetWriter(fh, SCHEMA, compression="zstd")
        self.pending: list[Any] = []
        self.rows = 0

    def write(self, part: Path) -> None:
        import pyarrow.parquet as pq

        with store.open_read(part) as fh:
            table = pq.read_table(fh)
        self.pending.append(table)
        self.rows += table.num_rows
        while self.rows >= self.batch:
            self._flush(self.batch)

    def _flush(self, n: int) -> None:
        table = self.pa.concat_tables(self.pending)
        self.writer.write_table(table.slice(0, n))
        rest = table.slice(n)
        self.pending = [rest] if rest.num_rows else []
        self.rows = rest.num_rows

    def close(self) -> None:
        if self.rows:
            self._flush(self.rows)
        self.writer.close()


JOINERS: dict[str, type[_Joiner]] = {"lines": _LinesJoiner, "json_array": _JsonArrayJoiner,
                                     "parquet": _ParquetJoiner}


def lock_mode(spec: OutputSpec, exporter: Exporter, shards: list[Path]) -> None:
    """Fix an exporter's ``mode: auto`` (one trainer shape per file, taken from the first record the exporter
    sees) before its parts are written in parallel: every part then refuses the same records one writer
    would refuse, and the file's registry entry (``dataset_info.json``: ``ranking``, ``kto_tag``) names the
    shape of its rows. Records are read from the first shard on until one the output selects (the Router's
    ``where`` and length check) has a mode the exporter supports; usually the first."""
    modes = getattr(exporter, "modes", None)
    if modes is None or modes.mode is not None:
        return
    router = Router(spec, exporter)
    for path in shards:
        for line in read_shard_lines(path):
            record = router.select(orjson.loads(line))
            if record is None or isinstance(record, Drop):
                continue
            modes.check(record)
            if modes.mode is not None:
                return


def part_tasks(spec: OutputSpec, exporter: Exporter, shards: list[tuple[str, Path]], parts: Path,
               progress_key: str, sample: bool = True) -> Iterator[PartTask]:
    done = set(store.names(parts, "*.json"))
    for shard, path in shards:
        task = PartTask(spec, exporter, shard, path, parts, progress_key, sample)
        if task.marker.name not in done:
            yield task
