"""Engine seams: step instances are scoped to their run and torn down, a failed batch never re-processes the
records it already changed, what a step notes reaches stats.json, and steps get their places from the context."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe
from datamill.records import Record
from datamill.steps.base import Drop, RowStep
from datamill.steps.registry import default_registry

TORN_DOWN: list[str] = []


class ExclaimBatch(RowStep[Any]):
    """Appends '!' to every answer; the batched call fails after changing the records it was given."""

    name: ClassVar[str] = "test_exclaim_batch"

    def process(self, record: Record) -> Record | Drop:
        record["messages"][-1]["content"] += "!"
        if "boom" in record["messages"][-1]["content"]:
            raise ValueError("boom")
        self.note("changed")
        return record

    def process_batch(self, records: Sequence[Record]) -> list[Record | Drop]:
        for r in records:
            r["messages"][-1]["content"] += "!"
        self.note("changed", len(records))
        raise RuntimeError("the batch call failed half-way")


class WhereAmI(RowStep[Any]):
    """Writes its context's cache folder into each record; remembers its teardown."""

    name: ClassVar[str] = "test_where_am_i"

    def process(self, record: Record) -> Record | Drop:
        assert self.context is not None
        meta = record.setdefault("meta", {})
        meta["cache_dir"] = str(self.context.cache_dir)
        meta["artifacts"] = str(self.context.artifacts.folder)
        return record

    def teardown(self) -> None:
        assert self.context is not None
        TORN_DOWN.append(str(self.context.cache_dir))


@pytest.fixture
def test_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    registry = default_registry()
    for cls in (ExclaimBatch, WhereAmI):
        monkeypatch.setitem(registry._steps, cls.name, cls)
    TORN_DOWN.clear()
    yield


def recipe(tmp_path: Path, steps: list[Any], rows: list[dict[str, Any]]) -> Path:
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "inputs": [{"path": "data.jsonl"}], "steps": steps}))
    return path


def exported(workdir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (workdir / "export/data.jsonl").read_text().splitlines()]


def test_failed_batch_falls_back_on_the_stored_records(tmp_path: Path, test_steps: None) -> None:
    rows = [{"instruction": "q", "input": "", "output": "a"}, {"instruction": "q2", "input": "", "output": "boom"}]
    summary = run_recipe(load_recipe(recipe(tmp_path, ["test_exclaim_batch"], rows)), tmp_path / "run", workers=1)
    out = exported(tmp_path / "run")
    assert [r["messages"][-1]["content"] for r in out] == ["a!"]  # once, not "a!!"
    quarantined = [json.loads(line) for f in (tmp_path / "run/quarantine").glob("01-*.jsonl")
                   for line in f.read_text().splitlines()]
    assert [q["row"]["messages"][-1]["content"] for q in quarantined] == ["boom"]  # as it was stored
    stage = summary["steps"][1]
    assert stage["notes"] == {"changed": 1}  # what the failed batch noted is forgotten
    assert summary["reconciled"]


def test_two_runs_in_one_process_keep_their_own_context(tmp_path: Path, test_steps: None) -> None:
    rows = [{"instruction": "q", "input": "", "output": "a"}]
    path = recipe(tmp_path, ["test_where_am_i"], rows)
    for name in ("one", "two"):
        run_recipe(load_recipe(path), tmp_path / name, workers=1)
        (record,) = exported(tmp_path / name)
        assert record["meta"]["cache_dir"] == str(tmp_path / name / "cache")
        assert record["meta"]["artifacts"] == str(tmp_path / name / "steps/01-test_where_am_i")
    assert [str(tmp_path / "one/cache"), str(tmp_path / "two/cache")] == TORN_DOWN


def test_dedup_artifacts_come_from_the_context(tmp_path: Path) -> None:
    rows = [{"instruction": "same", "input": "", "output": "x"}] * 3 + [{"instruction": "other", "input": "",
                                                                         "output": "y"}]
    steps = [{"dedup_exact": {"on": "prompt"}}, {"dedup_minhash": {"on": "prompt"}}]
    run_recipe(load_recipe(recipe(tmp_path, steps, rows)), tmp_path / "run", workers=1)
    second = tmp_path / "run/steps/02-dedup_minhash"
    lines = (second / "summary_all.csv").read_text().splitlines()
    assert lines[0] == ("source,before,removed_by_01-dedup_exact,removed_by_02-dedup_minhash,"
                        "removed_by_other_steps,after")
    assert lines[1] == "data,4,2,0,0,2"
    assert (tmp_path / "run/steps/01-dedup_exact/summary.csv").exists()
