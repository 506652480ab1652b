"""The demo's and the seed recipes' exports, byte for byte, against digests pinned in ``golden_exports.json``.

A change to the engine (fusion, byte ranges, parallel export, fast paths) must not change one byte of what a
recipe writes. The digests were first taken with the engine before fusion (commit f392b2b) and every export
matched them (seed 002 and seed 003 have changed recipes since: their digests are of the recipes as they are
now). Records carry the path of the file they came from (``source_id``), so the checkout's folder is
replaced by ``ROOT`` before hashing.

After a deliberate change to what a recipe writes, regenerate the digests and say why in the commit:

    DATAMILL_UPDATE_GOLDEN=1 pytest tests/export/test_golden_exports.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden_exports.json")
RECIPES = {
    "demo": ROOT / "recipes" / "demo.yaml",
    "seed001": ROOT / "recipes" / "seed001-consolidate" / "recipe.yaml",
    "seed002": ROOT / "recipes" / "seed002-medical" / "recipe.yaml",
    "seed003": ROOT / "recipes" / "seed003-arithmetic" / "recipe.yaml",
    "seed004": ROOT / "recipes" / "seed004-ruozhiba" / "recipe.yaml",
}


def digests(workdir: Path) -> dict[str, str]:
    """sha256 of every exported file (the checkout's folder replaced by ``ROOT``), by path in the work directory."""
    out = {}
    for path in sorted((workdir / "export").rglob("*")):
        if path.is_file():
            data = path.read_bytes().replace(str(ROOT).encode(), b"ROOT")
            out[str(path.relative_to(workdir))] = hashlib.sha256(data).hexdigest()
    return out


@pytest.mark.parametrize("name", list(RECIPES))
def test_exports_are_byte_identical_to_the_pinned_digests(name: str, tmp_path: Path,
                                                           request: pytest.FixtureRequest) -> None:
    if name != "demo":
        request.getfixturevalue("corpora")  # the seeds read ../shared/corpora (skipped without it)
    summary = run_recipe(load_recipe(RECIPES[name]), tmp_path / name, workers=2, report=False)
    assert summary["reconciled"]
    got = digests(tmp_path / name)
    assert got, "the recipe exported nothing"
    pinned = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("DATAMILL_UPDATE_GOLDEN"):
        pinned[name] = got
        GOLDEN.write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert got == pinned.get(name), f"{name}: the exports changed (see this module's docstring)"
