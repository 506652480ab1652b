"""The training data of a run or an export: which files, which shape, and the rows each backend reads.

The split to train on (``train`` by default) is read back into canonical records (the readers of
``datamill check``), so any exported format can feed any backend. One shape per run: sft (messages,
chat, chain of thought), preference pairs, KTO-labelled completions or pretraining text; the first
record decides it, and records of another shape are counted and left out (never silently). The
rows written for TRL (``data/train.jsonl``: TRL's conversational types) and XTuner
(``data/train.jsonl``: OpenAI messages) are the datamill exporters' rows, so the trainers' rules
(alternation, tool pairing, labels) are applied the same way; what an exporter refuses is counted by
reason in ``train.json``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datamill.errors import InputError
from datamill.handoff.source import DataFile, ReadCounts, data_files, iter_records

STAGE_OF_MODE = {"sft": "sft", "preference": "dpo", "kto": "kto", "pretrain": "pt"}


@dataclass
class TrainData:
    """The records of one split and what became of them."""

    files: list[DataFile]
    records: list[dict[str, Any]]
    mode: str
    unreadable: int = 0
    other_modes: Counter[str] = field(default_factory=Counter)

    def fingerprint(self) -> str:
        """SHA-1 of the files' bytes (the data a run was trained on)."""
        h = hashlib.sha1()
        for f in sorted(self.files, key=lambda f: f.path):
            h.update(f.path.encode() + b"\x00")
            path = Path(f.path)
            if path.is_file():
                with path.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
        return h.hexdigest()


def load_train_data(path: Path, split: str = "train") -> TrainData:
    from datamill.export.shape import record_mode

    every = data_files(path)
    chosen = [f for f in every if f.split == split] or every
    counts = ReadCounts()
    pairs = list(iter_records(chosen, counts))
    if any(s == split for s, _ in pairs):  # a registry lists every split: keep the one asked for
        pairs = [(s, r) for s, r in pairs if s == split]
    records: list[dict[str, Any]] = []
    mode: str | None = None
    other: Counter[str] = Counter()
    for _, record in pairs:
        this = record_mode(record)
        mode = mode or this
        if this != mode:
            other[this] += 1
            continue
        records.append(record)
    if not records or mode is None:
        raise InputError(f"no training records in {path} (split '{split}', {counts.rows} rows read, "
                         f"{counts.unreadable} unreadable)", hint="pass a run or export with a train split")
    return TrainData(chosen, records, mode, counts.unreadable, other)


def exporter_rows(records: list[dict[str, Any]], fmt: str, mode: str, options: dict[str, Any] | None = None
                  ) -> tuple[list[dict[str, Any]], Counter[str]]:
    """The rows datamill's ``fmt`` exporter writes for ``records``, and the refusals by reason."""
    from datamill.export.registry import build_exporter
    from datamill.steps.base import Drop

    exporter = build_exporter(fmt, {"mode": mode, **(options or {})}, f"train ({fmt})")
    rows: list[dict[str, Any]] = []
    refused: Counter[str] = Counter()
    for record in records:
        row = exporter.convert(record)
        if isinstance(row, Drop):
            refused[row.reason] += 1
        else:
            rows.append(row)
    return rows, refused


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    """Write ``rows`` (UTF-8 JSON Lines) and return the file's SHA-1."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha1(data).hexdigest()
