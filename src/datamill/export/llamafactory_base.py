"""What the two LLaMA-Factory exporters share: JSON-array files and their ``dataset_info.json``."""

from __future__ import annotations

from typing import IO, Any, ClassVar

from pydantic import Field

from datamill.export.base import ExportedFile, RowWriter
from datamill.export.jsonl import JsonArrayRowWriter
from datamill.export.llamafactory_info import INFO_NAME, build_entries, merge_into, render
from datamill.export.render import CotMode
from datamill.export.target import TargetExporter, TargetOptions
from datamill.steps.base import Params


class LlamaFactoryOptions(TargetOptions):
    cot: CotMode = Field(
        default="think_tags",
        description="chain of thought: think_tags (LLaMA-Factory's reasoning templates parse <think> from the "
        "answer) or drop; LLaMA-Factory reads no separate reasoning field",
    )
    dataset_name: str | None = Field(
        default=None,
        description="dataset_info.json key (with several files: key_<file stem>); default: the file stem",
    )
    merge_into: str | None = Field(
        default=None,
        description="also add the entries to this existing dataset_info.json (file_name made relative to it)",
    )


class LlamaFactoryExporter(TargetExporter):
    """Base: a JSON array per file (as LLaMA-Factory's data/*.json) and one registry entry per file."""

    extension = ".json"
    cot_field_ok = False
    formatting: ClassVar[str]

    def __init__(self, options: Params) -> None:
        super().__init__(options)
        assert isinstance(options, LlamaFactoryOptions)
        self.lf_options = options

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return JsonArrayRowWriter(fh)

    def entry_body(self) -> dict[str, Any]:
        """formatting, columns, tags and ranking for this output's mode."""
        raise NotImplementedError

    def finalize(self, files: list[ExportedFile], out_dir: str) -> dict[str, str]:
        entries = build_entries(files, out_dir, self.entry_body(), self.lf_options.dataset_name)
        if self.lf_options.merge_into:
            merge_into(self.lf_options.merge_into, entries, out_dir)
        return {INFO_NAME: render(entries)}
