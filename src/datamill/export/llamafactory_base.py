"""What the two LLaMA-Factory exporters share: JSON-array files and their ``dataset_info.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

from pydantic import Field

from datamill.export.base import ExportedFile, RowWriter
from datamill.export.jsonl import JsonArrayRowWriter
from datamill.export.llamafactory_info import INFO_NAME, build_entries, merge_into, render
from datamill.export.render import CotMode
from datamill.export.target import PreferenceOptions, TargetExporter


class LlamaFactoryOptions(PreferenceOptions):
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


LO = TypeVar("LO", bound=LlamaFactoryOptions)


class LlamaFactoryExporter(TargetExporter[LO]):
    """Base: a JSON array per file (as LLaMA-Factory's data/*.json) and one registry entry per file.

    The output folder's ``dataset_info.json`` is merged, not replaced, when it exists: several outputs
    (sft, pretrain, reward) can share one LLaMA-Factory ``dataset_dir``; same-named entries are replaced.
    """

    extension = ".json"
    cot_field_ok = False
    formatting: ClassVar[str]

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return JsonArrayRowWriter(fh)

    def entry_body(self) -> dict[str, Any]:
        """formatting, columns, tags and ranking for this output's mode."""
        raise NotImplementedError

    def finalize(self, files: list[ExportedFile], out_dir: str) -> dict[str, str]:
        entries = build_entries(files, out_dir, self.entry_body(), self.options.dataset_name)
        if self.options.merge_into:
            merge_into(self.options.merge_into, entries, out_dir)
        own = Path(out_dir) / INFO_NAME
        if "://" not in out_dir and own.is_file():  # several outputs share a folder: keep the others' entries
            existing = json.loads(own.read_text(encoding="utf-8"))
            if isinstance(existing, dict):
                # but not entries whose file is gone (an earlier export's split, removed before this one)
                kept = {k: v for k, v in existing.items() if not _names_a_missing_file(v, out_dir)}
                if len(kept) < len(existing):
                    self.note(f"{INFO_NAME}: entries for files that no longer exist removed", len(existing) - len(kept))
                entries = {**kept, **entries}
        return {INFO_NAME: render(entries)}


def _names_a_missing_file(entry: Any, out_dir: str) -> bool:
    """A registry entry naming a local file (relative to the registry's folder) that does not exist."""
    name = entry.get("file_name") if isinstance(entry, dict) else None
    return isinstance(name, str) and "://" not in name and not (Path(out_dir) / name).exists()
