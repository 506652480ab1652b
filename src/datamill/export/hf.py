"""``hf``: a Hugging Face dataset saved to disk (``datasets.load_from_disk``), in TRL's row shapes.

The export stage streams rows to files, so this exporter writes each split as JSON Lines first
(``train.jsonl``, ``test.jsonl``: TRL-shaped rows plus ``id``) and ``finalize`` turns them into one
``DatasetDict`` saved under ``<output>/<dataset_dir>/`` (default ``dataset``), one split per file
(``train`` when the output has no splits). ``datasets`` is imported only then (``datamill[hub]``).
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import IO, Any

import fsspec
import orjson
from pydantic import Field

from datamill.errors import require
from datamill.export.base import ExportedFile, RowWriter
from datamill.export.jsonl import JsonlRowWriter
from datamill.export.rules import Rules
from datamill.export.target import PreferenceOptions, TargetExporter
from datamill.export.trl import trl_row
from datamill.records import Record
from datamill.steps.base import Drop, Params


class HfOptions(PreferenceOptions):
    dataset_dir: str = Field(default="dataset", description="folder (inside the output) for save_to_disk")
    alternation: bool = Field(default=True, description="require user/assistant alternation (most chat templates)")


class HfExporter(TargetExporter):
    """A datasets.DatasetDict on disk with TRL-shaped rows (messages / prompt-chosen-rejected / text)."""

    name = "hf"
    description = "Hugging Face dataset on disk (load_from_disk), TRL row shapes, one split per file"
    Options = HfOptions
    extension = ".jsonl"

    def __init__(self, options: Params) -> None:
        super().__init__(options)
        assert isinstance(options, HfOptions)
        self.opts = options
        self.rules = Rules(alternation=options.alternation)

    def convert(self, record: Record) -> Any | Drop:
        ex = self.prepare(record)
        if isinstance(ex, Drop):
            return ex
        return {"id": record.get("id"), **trl_row(ex, self.reasoning_field)}

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return JsonlRowWriter(fh)

    def finalize(self, files: list[ExportedFile], out_dir: str) -> dict[str, str]:
        datasets: Any = require("datasets", "hub", "the hf output format")
        splits = {}
        for f in files:
            name = f.split or PurePosixPath(f.path).name.split(".")[0]
            if len(files) == 1 and f.split is None:
                name = "train"
            with fsspec.open(f.path, "rb") as fh:
                rows = [orjson.loads(line) for line in fh if line.strip()]
            splits[name] = datasets.Dataset.from_list(rows)
        target = os.path.join(out_dir, self.opts.dataset_dir)
        datasets.DatasetDict(splits).save_to_disk(target)
        return {}
