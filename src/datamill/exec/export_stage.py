"""The export stage: the final shards -> each output's files (+ files like dataset_info.json).

Records are written in shard order, so the files are identical however the run was interrupted.
Local files are written to a temporary name and renamed; remote ones (``s3://``) are single PUTs.
Records the exporter refuses are written to ``<stage>/dropped/`` with the reason.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import fsspec

from datamill.errors import DatamillError
from datamill.exec import progress
from datamill.exec.shards import JsonlSink, read_shard
from datamill.export.base import ExportedFile, Exporter, RowWriter
from datamill.recipe.model import OutputSpec
from datamill.records import Record, get_field
from datamill.report.profile import Profile
from datamill.report.stats import StageStats
from datamill.steps.base import Drop


class ExportError(DatamillError):
    """An output file could not be written as promised."""

    exit_code = 4


def is_url(path: str) -> bool:
    return "://" in path


def resolve_output_path(path: str, workdir: Path | str) -> str:
    """An output path as written: a URL or absolute path as is, else inside the work directory (a folder,
    or a URL when the work directory is remote)."""
    if is_url(path) or os.path.isabs(path):
        return path
    if is_url(str(workdir)):
        return f"{str(workdir).rstrip('/')}/{path}"
    joined = str(Path(workdir) / path)
    return joined + "/" if path.endswith("/") else joined  # a trailing slash says "folder": keep it


class _HashingFile:
    """Wraps a binary file to compute the SHA-1 of what is written."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.sha1 = hashlib.sha1()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha1.update(data)
        self.size += len(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()

    def tell(self) -> int:
        return self.fh.tell()

    def close(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return False


@dataclass
class _OpenFile:
    path: str
    tmp: str | None
    raw: IO[bytes]
    hashing: _HashingFile
    writer: RowWriter
    split: str | None
    count: int = 0


class ExportRun:
    """Writes one output: groups rows by ``split_by``, shards by ``shard_size``, single file if asked."""

    def __init__(self, spec: OutputSpec, exporter: Exporter, target: str,
                 make_writer: Callable[[IO[bytes]], Any] | None = None) -> None:
        self.spec = spec
        self.exporter = exporter
        self.single_file = not target.endswith("/") and PurePosixPath(target).suffix == exporter.extension
        self.target = target.rstrip("/")
        self.make_writer = make_writer or exporter.writer
        self.fs, self.root = fsspec.core.url_to_fs(self.target)
        self._open: dict[str | None, _OpenFile] = {}
        self._remove_stray_tmp()
        self._shard_no: Counter[str | None] = Counter()
        self.files: list[ExportedFile] = []

    def _is_local(self) -> bool:
        protocol = self.fs.protocol
        return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))

    def _remove_stray_tmp(self) -> None:
        """Delete temporary files a killed run left in the output folder (``.NAME.PID.tmp``)."""
        if not self._is_local():
            return
        folder = Path(self.root if not self.single_file else self.root.rsplit("/", 1)[0])
        if folder.is_dir():
            for stray in folder.glob(".*.tmp"):
                if stray.name.rsplit(".", 2)[-2].isdigit():
                    stray.unlink(missing_ok=True)

    def _name(self, split: str | None) -> str:
        if self.single_file:
            return self.root
        base = split or self.spec.name or "data"
        if self.spec.name and split:
            base = f"{self.spec.name}-{split}"
        if self.spec.shard_size:
            base = f"{base}-{self._shard_no[split]:05d}"
        return f"{self.root}/{base}{self.exporter.extension}"

    def _open_file(self, split: str | None) -> _OpenFile:
        path = self._name(split)
        local = self._is_local()
        parent = path.rsplit("/", 1)[0] if "/" in path else "."
        self.fs.makedirs(parent, exist_ok=True)
        tmp = None
        if local:
            tmp = f"{parent}/.{path.rsplit('/', 1)[-1]}.{os.getpid()}.tmp"
            raw = self.fs.open(tmp, "wb")
        else:
            raw = self.fs.open(path, "wb")
        hashing = _HashingFile(raw)
        of = _OpenFile(path, tmp, raw, hashing, self.make_writer(hashing), split)  # type: ignore[arg-type]
        self._open[split] = of
        return of

    def _close(self, of: _OpenFile) -> None:
        of.writer.close()
        of.raw.close()
        if of.tmp is not None:
            self.fs.mv(of.tmp, of.path)
        self._verify(of)
        self.files.append(ExportedFile(self._public(of.path), of.split, of.count, of.hashing.sha1.hexdigest()))
        self._open.pop(of.split, None)

    def _verify(self, of: _OpenFile) -> None:
        """The file is where we say and holds every byte we wrote: a "wrote N records" line never follows a
        file that does not hold them (a rename into a folder, a remote PUT that did not land...)."""
        try:
            info = self.fs.info(of.path)
        except FileNotFoundError:
            info = None
        if info is None or info.get("type") != "file" or int(info.get("size") or 0) != of.hashing.size:
            found = "nothing" if info is None else f"a {info.get('type')} of {info.get('size')} bytes"
            raise ExportError(f"after writing {of.count} records ({of.hashing.size} bytes) to {of.path}, "
                              f"{found} is there", hint="check the output path and the storage it points to")

    def _public(self, path: str) -> str:
        return path if self._is_local() else self.fs.unstrip_protocol(path)

    @staticmethod
    def is_single_file(spec: OutputSpec, exporter: Exporter) -> bool:
        """The output is one file (its path ends with the format's extension, not with a slash: ``data.json/`` is a
        folder), whatever ``split_by`` says."""
        return not spec.path.endswith("/") and PurePosixPath(spec.path).suffix == exporter.extension

    def write(self, row: Any, split: str | None, records: int = 1) -> None:
        """Write ``row`` (a part of ``records`` records when joining parts) to the file of ``split``."""
        key = None if self.single_file else split
        of = self._open.get(key) or self._open_file(key)
        of.writer.write(row)
        of.count += records
        if self.spec.shard_size and of.count >= self.spec.shard_size:
            self._close(of)
            self._shard_no[key] += 1

    def finish(self) -> list[ExportedFile]:
        for of in list(self._open.values()):
            self._close(of)
        if not self.files:  # nothing to write: still produce an (empty) file so consumers find it
            self._close(self._open_file(None))
        extra = self.exporter.finalize(self.files, self.target if not self.single_file else
                                       self.target.rsplit("/", 1)[0])
        base = self.target if not self.single_file else self.target.rsplit("/", 1)[0]
        for name, text in extra.items():
            with self.fs.open(f"{self.fs._strip_protocol(base)}/{name}", "wb") as fh:
                fh.write(text.encode("utf-8"))
        return sorted(self.files, key=lambda f: f.path)


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def file_key(record: dict[str, Any], split_by: str | None) -> str | None:
    """The file a record goes to: the value of the ``split_by`` field (``train``), or a template over
    fields (``{meta.route}/{category}-{split}`` -> ``simple/category-1-train``). Values are made safe
    for file names; ``/`` in the template makes folders. A missing field gives ``none``."""
    if not split_by:
        return None
    if "{" not in split_by:
        value = get_field(record, split_by)
        return None if value is None else str(value)

    def one(m: re.Match[str]) -> str:
        value = get_field(record, m.group(1).strip())
        return _UNSAFE.sub("_", "none" if value is None else str(value)).strip("_") or "none"

    return _PLACEHOLDER.sub(one, split_by)


#: What happened to each final record in one output (one byte per record, in shard order).
NOT_SELECTED, WRITTEN, REFUSED = 0, 1, 2


class Router:
    """What happens to each final record in one output: not selected by ``where``, refused by the exporter
    (kept in the dropped file with its reason), or a row to write; with the output's stats, the status of
    every record in order and the refusal reasons by position."""

    def __init__(self, spec: OutputSpec, exporter: Exporter, dropped: JsonlSink | None = None) -> None:
        from datamill.expr import compile_expr

        self.exporter = exporter
        self.where = compile_expr(spec.where) if spec.where else None
        self.guard: Any = None
        if spec.check is not None:
            from datamill.handoff.guard import OverlengthGuard

            self.guard = OverlengthGuard(spec.check)
        self.dropped = dropped
        self.stats = StageStats()
        self.status = bytearray()
        self.reasons: dict[int, str] = {}
        #: the first record ``where`` saw (names the fields records have when a field in it is missing)
        self.first: Record | None = None
        #: samples of the rows written per file and of the refused records, for the build report
        self.profile = Profile()

    def select(self, record: Record) -> Record | Drop | None:
        """``record`` as the exporter gets it: None when ``where`` does not select it (counted), a Drop when
        the length check refuses it, else the record (shortened when the check truncates)."""
        from datamill.expr import MISSING_NOTE, ExprEvalError

        if self.where is not None:
            self.first = self.first or record
            for name in self.where.missing(record):
                self.stats.notes[f"{MISSING_NOTE}{name}"] += 1
            try:
                selected = bool(self.where(record))
            except ExprEvalError:
                selected = False
                self.stats.notes["where_error"] += 1
            if self.where.take_coerced():
                self.stats.notes["coerced_numeric"] += 1
            if not selected:
                self.status.append(NOT_SELECTED)
                self.stats.notes["not selected by 'where'"] += 1
                return None
        self.stats.records_in += 1
        if self.guard is None:
            return record
        checked, note = self.guard.apply(record)  # on_overlength: the trainer's limit, before the exporter's rules
        if note:
            self.stats.notes[note] += 1
        return checked

    def row(self, record: Record) -> Any | None:
        """The row to write for ``record`` (then call :meth:`written`), or None (not selected, or refused)."""
        checked = self.select(record)
        if checked is None:
            return None
        row = checked if isinstance(checked, Drop) else self.exporter.convert(checked)
        if isinstance(row, Drop):
            assert self.dropped is not None
            self.stats.dropped[row.reason] += 1
            self.reasons[len(self.status)] = row.reason
            self.status.append(REFUSED)
            self.dropped.write({"reason": row.reason, "detail": row.detail, "record": record})
            self.profile.dropped(record, row)
            return None
        return row

    def collect_notes(self) -> None:
        """Add what the exporter counted about the rows it kept (``Exporter.note``) to the output's notes."""
        self.stats.notes.update(self.exporter.take_notes())

    @staticmethod
    def check_where(spec: OutputSpec, total: int, notes: Counter[str], first: Record | None) -> None:
        """A field of ``where`` that no record has is an error (a typo selects nothing, or keeps selecting on
        the other clauses), listing the fields records have."""
        if spec.where:
            from datamill.expr import check_fields_seen, compile_expr

            check_fields_seen(f"output where '{spec.where}'", compile_expr(spec.where).fields, total, notes, first)

    def written(self, record: Record, key: str | None, row: Any) -> None:
        """``row``, converted from ``record`` by :meth:`row`, was written to the file of ``key``."""
        self.stats.records_out += 1
        self.status.append(WRITTEN)
        self.profile.written(record, key, row)

    def copied_lines(self, n: int) -> None:
        """``n`` records were written as stored, in a block (no sample of them is taken)."""
        self.stats.records_in += n
        self.stats.records_out += n
        self.status.extend(bytes((WRITTEN,)) * n)

    def copied(self, line: bytes, key: str | None) -> None:
        """A record was written as stored (``Exporter.passthrough``), without :meth:`row`."""
        self.stats.records_in += 1
        self.stats.records_out += 1
        self.status.append(WRITTEN)
        self.profile.written_raw(line, key)


def export_output(
    spec: OutputSpec,
    exporter: Exporter,
    target: str,
    shards: list[Path],
    dropped_dir: Path,
    progress_key: str,
    profile_to: Path | None = None,
) -> tuple[StageStats, list[ExportedFile], bytearray, dict[int, str]]:
    """Write one output from the final shards, in one process.

    Returns its stats (``in`` counts the records this output selected; ``notes`` says how many it did
    not), the files written, the status of every final record (:data:`WRITTEN`, :data:`REFUSED` or
    :data:`NOT_SELECTED`) and the refusal reason by record position, so the run can count each record
    once across several outputs. ``profile_to`` gets a sample of the rows written per file and examples of
    the refused records, for the build report.
    """
    started = time.process_time()
    run = ExportRun(spec, exporter, target)
    dropped = JsonlSink(dropped_dir / f"{exporter.name}.jsonl")
    router = Router(spec, exporter, dropped)
    try:
        for shard in shards:
            for record in read_shard(shard):
                progress.tick(progress_key)
                row = router.row(record)
                if row is not None:
                    key = file_key(record, spec.split_by)
                    run.write(row, key)
                    router.written(record, key, row)
        Router.check_where(spec, len(router.status), router.stats.notes, router.first)
        files = run.finish()
        router.collect_notes()  # what converting the rows and finishing the files did
        dropped.close()
        if profile_to is not None:
            router.profile.write(profile_to)
    except BaseException:
        dropped.abort()
        raise
    progress.flush()
    router.stats.seconds = time.process_time() - started
    return router.stats, files, router.status, router.reasons
