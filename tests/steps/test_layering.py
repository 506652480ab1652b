"""Steps never know the executor or the work directory's layout: nothing under ``datamill/steps`` imports
``datamill.exec`` (what a step may know of the run comes through ``StepContext``; docs/decisions.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import datamill.steps

STEPS = Path(datamill.steps.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_step_imports_the_engine() -> None:
    files = sorted(STEPS.rglob("*.py"))
    assert len(files) > 20
    offenders = {str(f.relative_to(STEPS)): sorted(m for m in imported_modules(f) if m.startswith("datamill.exec"))
                 for f in files}
    assert {f: m for f, m in offenders.items() if m} == {}
