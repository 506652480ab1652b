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

import json
import os
from pathlib import Path

import pytest

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe
from fixtures.golden import GOLDEN, RECIPES, digests, pinned


@pytest.mark.parametrize("name", list(RECIPES))
def test_exports_are_byte_identical_to_the_pinned_digests(name: str, tmp_path: Path,
                                                           request: pytest.FixtureRequest) -> None:
    if name != "demo":
        request.getfixturevalue("corpora")  # the seeds read ../shared/corpora (skipped without it)
    summary = run_recipe(load_recipe(RECIPES[name]), tmp_path / name, workers=2, report=False)
    assert summary["reconciled"]
    got = digests(tmp_path / name)
    assert got, "the recipe exported nothing"
    golden = pinned()
    if os.environ.get("DATAMILL_UPDATE_GOLDEN"):
        golden[name] = got
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert got == golden.get(name), f"{name}: the exports changed (see this module's docstring)"
