"""The records of an export or a run, read back as canonical records with their split.

``datamill check`` and ``datamill train`` accept

* a run's work directory (``summary.json``): every output's files, with the split each was written for;
* an export folder: its ``dataset_info.json`` when there is one (LLaMA-Factory's registry: the entries'
  formatting and columns decide how rows are read), else every data file in it;
* one file, or a ``dataset_info.json``.

Files are read with datamill's own readers and format detection, so any exported format (OpenAI
messages, ShareGPT, LLaMA-Factory alpaca/sharegpt, TRL, canonical JSONL) comes back as canonical
messages, pairs or text. A row that cannot be read is counted as ``unreadable``, never skipped silently.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datamill.errors import InputError

DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".txt", ".csv", ".tsv")
NOT_DATA = {"dataset_info.json", "summary.json", "stats.json", "train.json", "eval.json"}


@dataclass(frozen=True)
class DataFile:
    """One file to read: its path (or a dataset_info.json entry), the split it holds and its format."""

    path: str
    split: str
    exporter: str | None = None


def _split_of(path: str) -> str:
    """``train`` for ``train.jsonl``, ``train-00001.jsonl`` and ``train.json.gz``."""
    name = Path(path).name
    for suffix in (".gz", ".zst", *DATA_SUFFIXES):
        name = name.removesuffix(suffix)
    return re.sub(r"-\d{5}$", "", name)


def data_files(path: Path) -> list[DataFile]:
    """The data files of a run, an export folder or a single file."""
    if not path.exists():
        raise InputError(f"{path} does not exist", hint="pass a run's work directory, an export folder or a file")
    if path.is_file():
        return [DataFile(str(path), _split_of(str(path)))]
    summary = path / "summary.json"
    if summary.is_file():
        data = json.loads(summary.read_text(encoding="utf-8"))
        files: list[DataFile] = []
        seen: set[str] = set()
        for output in data.get("outputs", []):
            for f in output.get("files", []):
                if f["path"] in seen or not f.get("records"):
                    continue
                seen.add(f["path"])
                files.append(DataFile(f["path"], f.get("split") or _split_of(f["path"]), output.get("format")))
        if files:
            # one exported copy per record is enough: prefer trainer formats over canonical copies
            trainer = [f for f in files if f.exporter not in ("jsonl", "parquet", None)]
            return trainer or files
        raise InputError(f"the run in {path} wrote no data files", hint="run the recipe first (datamill run)")
    registry = path / "dataset_info.json"
    if registry.is_file():
        return [DataFile(str(registry), "")]
    found = sorted(p for p in path.iterdir() if p.is_file() and p.name not in NOT_DATA and not p.name.startswith(".")
                   and any(p.name.endswith(s) or p.name.endswith(s + ".gz") for s in DATA_SUFFIXES))
    if not found:
        raise InputError(f"{path} holds no data files ({', '.join(DATA_SUFFIXES)})")
    return [DataFile(str(p), _split_of(str(p))) for p in found]


@dataclass
class ReadCounts:
    rows: int = 0
    unreadable: int = 0


def iter_records(files: list[DataFile], counts: ReadCounts | None = None, limit: int | None = None
                 ) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(split, canonical record)`` for every readable row of ``files`` (at most ``limit`` per file)."""
    from datamill.formats.base import AdapterConfig, AdapterError
    from datamill.formats.registry import adapter_for_hint, detect_format, get_adapter
    from datamill.io.read import read_rows
    from datamill.io.sources import expand_input
    from datamill.recipe.model import InputSpec

    counts = counts if counts is not None else ReadCounts()
    for data_file in files:
        for source in expand_input(InputSpec(path=data_file.path), Path.cwd()):
            split = data_file.split or str((source.hint or {}).get("dataset") or _split_of(source.url))
            rows = read_rows(source)
            head = []
            it = iter(rows)
            for row in it:
                head.append(row)
                if len(head) >= 200:
                    break
            if source.hint:
                adapter = adapter_for_hint(source.hint)
            else:
                sample = [r.value for r in head if r.error is None and isinstance(r.value, dict)]
                if not sample:
                    counts.rows += len(head)
                    counts.unreadable += len(head)
                    continue
                adapter = get_adapter(detect_format(sample, AdapterConfig()).format, AdapterConfig())
            n = 0
            for row in itertools.chain(head, it):
                if limit is not None and n >= limit:
                    break
                n += 1
                counts.rows += 1
                if row.error is not None or not isinstance(row.value, dict):
                    counts.unreadable += 1
                    continue
                try:
                    records = adapter.to_records(row.value)
                except AdapterError:
                    raw = lenient_record(row.value)
                    if raw is None:
                        counts.unreadable += 1
                        continue
                    records = [raw]
                for r in records:
                    yield split, r


_SPEAKERS = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system",
             "observation": "tool", "tool": "tool", "function_call": "assistant"}


def lenient_record(row: dict[str, Any]) -> dict[str, Any] | None:
    """A conversation that datamill's readers refuse (it ends on a user turn, starts with an answer...)
    but that a trainer would still read: its messages as they are, so the check can say what the
    trainer does with it. ``None`` when the row holds no message list."""
    for key, role_key, content_key in (("messages", "role", "content"), ("conversations", "from", "value")):
        turns = row.get(key)
        if isinstance(turns, list) and turns and all(isinstance(t, dict) for t in turns):
            messages = [{"role": _SPEAKERS.get(str(t.get(role_key)), str(t.get(role_key))),
                         "content": t.get(content_key) if isinstance(t.get(content_key), str) else ""}
                        for t in turns]
            return {"kind": "chat", "messages": messages}
    return None
