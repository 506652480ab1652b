"""LLaMA-Factory ``dataset_info.json``: one entry per exported file, mergeable into an existing registry.

An entry names the file (relative to the folder holding ``dataset_info.json``, LLaMA-Factory's
``dataset_dir``), its ``formatting``, ``columns``, ``tags``, ``ranking`` and ``file_sha1``. With
``merge_into: path`` the entries are also merged into that registry (same-named entries replaced,
others kept, ``file_name`` relative to that registry's folder); the file is replaced atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

from datamill.errors import InputError
from datamill.export.base import ExportedFile

INFO_NAME = "dataset_info.json"


def entry_name(file: ExportedFile, prefix: str | None, single: bool, out_dir: str = "") -> str:
    """The registry key of a file: ``prefix`` (one file) or ``prefix_<stem>``, else the file's stem; a file in
    a sub-folder of ``out_dir`` (``split_by: "{meta.route}/{category}-{split}"``) is ``<folder>_<stem>``."""
    rel = PurePosixPath(relative_file_name(file.path, out_dir) if out_dir else PurePosixPath(file.path).name)
    stem = "_".join([*(p for p in rel.parent.parts if p not in (".", "..")), rel.name.split(".")[0]])
    if not prefix:
        return stem
    return prefix if single else f"{prefix}_{stem}"


def relative_file_name(path: str, folder: str) -> str:
    """``path`` relative to ``folder`` (URLs too, when the file lies under the folder's URL)."""
    if "://" in path:
        base = folder.rstrip("/") + "/"
        return path[len(base):] if path.startswith(base) else path
    return os.path.relpath(path, folder).replace(os.sep, "/")


def build_entries(files: list[ExportedFile], out_dir: str, body: dict[str, Any],
                  prefix: str | None) -> dict[str, dict[str, Any]]:
    """``{name: entry}`` for each file; ``body`` holds formatting/columns/tags/ranking."""
    entries: dict[str, dict[str, Any]] = {}
    for f in sorted(files, key=lambda f: f.path):
        name = entry_name(f, prefix, len(files) == 1, out_dir)
        entries[name] = {"file_name": relative_file_name(f.path, out_dir), **body, "file_sha1": f.sha1}
    return entries


def render(entries: dict[str, Any]) -> str:
    return json.dumps(entries, ensure_ascii=False, indent=2) + "\n"


def merge_into(path: str, entries: dict[str, dict[str, Any]], out_dir: str) -> None:
    """Add (or replace) ``entries`` in the registry at ``path``, rebasing ``file_name`` onto its folder."""
    target = Path(path)
    if target.is_dir():
        target = target / INFO_NAME
    existing: dict[str, Any] = {}
    if target.exists():
        try:
            existing = json.loads(target.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{target} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(existing, dict):
            raise InputError(f"{target} must hold a JSON object of dataset entries")
    folder = str(target.parent.resolve())
    for name, entry in entries.items():
        rebased = dict(entry)
        name_ = entry["file_name"]
        if "://" in name_:
            full = name_
        elif "://" in out_dir:  # a remote output: the registry names the file by its URL
            full = out_dir.rstrip("/") + "/" + name_
        else:
            full = os.path.abspath(os.path.join(out_dir, name_))
        rebased["file_name"] = relative_file_name(full, folder)
        existing[name] = rebased
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(render(existing), encoding="utf-8")
    os.replace(tmp, target)
