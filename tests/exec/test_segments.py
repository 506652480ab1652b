"""Fused segments: which stages run together, and that fusing changes nothing a user sees.

Every recipe here runs twice: as the engine plans it (row steps fused), and with ``checkpoint: true`` on
every step (each step stored on its own, as before fusion). Exports, per-stage stats and dropped records
must be byte-identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from datamill.exec.plan import Segment, build_segments
from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe, load_recipe_data
from datamill.steps.registry import default_registry


def steps_of(*names: str) -> list[Any]:
    registry = default_registry()
    params = {"filter": {"expr": "len(prompt) > 0"}, "limit": {"n": 5}, "llm_label": {"labels": ["a", "b"]},
              "split": {"ratios": {"train": 0.5, "test": 0.5}}}
    out = []
    for name in names:
        cls = registry.get(name)
        out.append(cls(cls.Params.model_validate(params.get(name, {}))))
    return out


@pytest.mark.parametrize(("names", "checkpoints", "expected"), [
    ((), (), [Segment("read", 0, 0)]),
    (("filter", "normalize"), (False, False), [Segment("read", 0, 2)]),
    (("filter", "dedup_exact", "normalize"), (False, False, False),
     [Segment("read", 0, 1, 2), Segment("apply", 2, 3)]),
    (("dedup_exact", "split"), (False, False),
     [Segment("read", 0, 0, 1), Segment("apply", 1, 1, 2), Segment("apply", 2, 2)]),
    (("filter", "normalize", "filter"), (False, True, False),
     [Segment("read", 0, 2), Segment("shards", 3, 3)]),
    (("filter", "llm_label", "filter"), (False, False, False),
     [Segment("read", 0, 1), Segment("shards", 2, 2), Segment("shards", 3, 3)]),
    (("dedup_exact", "filter"), (True, False), [Segment("read", 0, 0, 1), Segment("apply", 1, 1),
                                               Segment("shards", 2, 2)]),
])
def test_segments(names: tuple[str, ...], checkpoints: tuple[bool, ...], expected: list[Segment]) -> None:
    assert build_segments(steps_of(*names), list(checkpoints)) == expected


ROWS = [{"instruction": f"question {i % 40}", "input": "", "output": f"answer {i % 40} " + "x" * (i % 7),
         "topic": ["a", "b", "c"][i % 3]} for i in range(300)]
STEPS = [
    {"filter": {"expr": "meta.topic != 'c' or len(answer) > 12"}},
    {"normalize": {}},
    {"dedup_exact": {"on": "prompt"}},
    {"set_fields": {"values": {"meta.tagged": "yes"}}},
    {"filter": {"expr": "len(prompt) > 10"}},
    {"split": {"ratios": {"train": 0.7, "test": 0.3}, "seed": 1, "stratify_by": "meta.topic"}},
]


def run(tmp_path: Path, name: str, checkpoint: bool, workers: int = 2) -> Path:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    steps = [{**s, "checkpoint": True} if checkpoint else s for s in STEPS]
    recipe = {"name": "seg", "inputs": [{"path": str(data)}], "steps": steps,
              "outputs": [{"format": "jsonl", "path": "export/"},
                          {"format": "llamafactory-alpaca", "path": "lf/"}],
              "executor": {"shard_size": 37}}
    run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / name, workers=workers)
    return tmp_path / name


def files(root: Path, pattern: str) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob(pattern))}


def test_fused_and_stored_runs_are_identical(tmp_path: Path) -> None:
    fused = run(tmp_path, "fused", checkpoint=False)
    stored = run(tmp_path, "stored", checkpoint=True)
    for pattern in ("export/*", "lf/*", "steps/*/dropped/*.jsonl"):
        assert files(fused, pattern) == files(stored, pattern), pattern
    assert files(fused, "export/*")  # something was compared
    for a, b in zip(sorted(fused.glob("steps/*/stats.json")), sorted(stored.glob("steps/*/stats.json")),
                    strict=True):
        da, db = json.loads(a.read_text()), json.loads(b.read_text())
        for key in ("in", "out", "dropped", "quarantined", "notes"):
            assert da[key] == db[key], (a.parent.name, key)
    # fusion stored records only where they are needed: before dedup, before split, at the end
    stored_stages = sorted(p.parent.name for p in fused.glob("steps/*/*.jsonl.zst"))
    assert sorted(set(stored_stages)) == ["02-normalize", "05-filter", "06-split"]
    summary = json.loads((fused / "summary.json").read_text())
    assert summary["reconciled"]


def test_a_changed_step_in_a_fused_group_reruns_from_its_input(tmp_path: Path) -> None:
    first = run(tmp_path, "run", checkpoint=False)
    before = files(first, "export/*")
    STEPS[1] = {"normalize": {"on": "prompt"}}
    try:
        again = run(tmp_path, "run", checkpoint=False)
        reference = run(tmp_path, "fresh", checkpoint=False)
    finally:
        STEPS[1] = {"normalize": {}}
    assert files(again, "export/*") == files(reference, "export/*")
    assert before  # the first run wrote files
    summary = json.loads((again / "summary.json").read_text())
    assert "00-read: unchanged, skipped (resume)" not in summary["log"]  # read fused with the changed step


def test_a_stage_that_was_fused_is_stored_when_a_later_recipe_needs_it(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    recipe = tmp_path / "r.yaml"
    steps = [{"filter": {"expr": "len(prompt) > 0"}}, {"dedup_exact": {"on": "prompt"}}]
    recipe.write_text(yaml.safe_dump({"name": "x", "inputs": [{"path": "d.jsonl"}], "steps": steps}))
    run_recipe(load_recipe(recipe), tmp_path / "w", workers=1)
    recipe.write_text(yaml.safe_dump({"name": "x", "inputs": [{"path": "d.jsonl"}],
                                      "steps": [{"limit": {"n": 10}}]}))
    summary = run_recipe(load_recipe(recipe), tmp_path / "w", workers=1)
    assert summary["totals"]["written"] == 10 and summary["reconciled"]
