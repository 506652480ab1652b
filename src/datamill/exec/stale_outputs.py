"""Files an earlier export of this work directory wrote that this run's outputs will not write again.

An output that is exported again (a changed recipe, ``--fresh``) may write fewer or other files than before:
other split names, another ``split_by``, another format. Files it wrote before and does not write now
would stay next to the new ones, and a trainer's registry in the same folder would keep naming them (old
test files beside a new train file that holds their records). So before an output is written again, the
files its previous export recorded (``outputs/NN-format/stats.json``) are removed, and so are those of
outputs the recipe no longer has. Only files an export of this work directory recorded are touched.
"""

from __future__ import annotations

from pathlib import Path

import fsspec

from datamill.exec import store
from datamill.exec.workdir import read_json


def recorded_files(stage_path: Path) -> list[str]:
    """The files an output's last finished export wrote (none when it never finished)."""
    stats = stage_path / "stats.json"
    if not store.exists(stats):
        return []
    data = read_json(stats)
    return [f["path"] for f in data.get("files") or [] if isinstance(f, dict) and isinstance(f.get("path"), str)]


def remove_files(paths: list[str]) -> list[str]:
    """Remove the files that exist among ``paths`` (local paths or URLs); returns the ones removed."""
    removed = []
    for path in paths:
        fs, root = fsspec.core.url_to_fs(path)
        if fs.exists(root) and not fs.isdir(root):
            fs.rm(root)
            removed.append(path)
    return removed
