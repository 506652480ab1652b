"""Fixtures for the exporter tests: an in-process export harness and LLaMA-Factory's loader."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from datamill.export.base import ExportedFile
from datamill.export.registry import build_exporter
from datamill.records import Record
from datamill.steps.base import Drop


@dataclass
class Exported:
    """What one export wrote: rows per file, refused records, the folder."""

    folder: Path
    files: dict[str, bytes] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    dropped: list[tuple[Record, Drop]] = field(default_factory=list)

    def reasons(self) -> list[str]:
        return [d.reason for _, d in self.dropped]

    def rows(self, name: str | None = None) -> list[Any]:
        name = name or next(iter(self.files))
        data = self.files[name].decode("utf-8")
        if name.endswith(".json"):
            return list(json.loads(data))
        if name.endswith(".jsonl"):
            return [json.loads(line) for line in data.splitlines() if line.strip()]
        return data.splitlines()

    def info(self) -> dict[str, Any]:
        return dict(json.loads((self.folder / "dataset_info.json").read_text(encoding="utf-8")))


def export(records: Iterable[Record], fmt: str, folder: Path, options: dict[str, Any] | None = None,
           split_by: str | None = None) -> Exported:
    """Convert, write and finalize like the export stage does (files named by split, default 'data')."""
    exporter = build_exporter(fmt, options or {}, "outputs[0]")
    folder.mkdir(parents=True, exist_ok=True)
    buffers: dict[str, io.BytesIO] = {}
    writers: dict[str, Any] = {}
    out = Exported(folder)
    splits: dict[str, str | None] = {}
    for record in records:
        row = exporter.convert(record)
        if isinstance(row, Drop):
            out.dropped.append((record, row))
            continue
        split = record.get(split_by) if split_by else None
        name = f"{split or 'data'}{exporter.extension}"
        if name not in writers:
            buffers[name] = io.BytesIO()
            writers[name] = exporter.writer(buffers[name])
            splits[name] = split
        writers[name].write(row)
        out.written[name] = out.written.get(name, 0) + 1
    if not writers:
        name = f"data{exporter.extension}"
        buffers[name] = io.BytesIO()
        writers[name] = exporter.writer(buffers[name])
        splits[name] = None
        out.written[name] = 0
    files = []
    for name, writer in writers.items():
        writer.close()
        data = buffers[name].getvalue()
        (folder / name).write_bytes(data)
        out.files[name] = data
        files.append(ExportedFile(str(folder / name), splits[name], out.written[name], hashlib.sha1(data).hexdigest()))
    for extra, text in exporter.finalize(files, str(folder)).items():
        (folder / extra).write_text(text, encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def llamafactory(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """LLaMA-Factory's dataset pipeline with a local tokenizer (skips when llamafactory is absent)."""
    from export.lf_loader import LlamaFactory, available

    if not available():
        pytest.skip("llamafactory is not installed (scripts/setup.d/30-trainers.sh installs it)")
    return LlamaFactory(tmp_path_factory.mktemp("llamafactory"))
