"""``datamill dedup`` and dedup steps inside a recipe run: artifacts next to the stage, counts reconcile."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from datamill.cli import app

from .conftest import make_planted


def write_inputs(root: Path) -> tuple[Path, dict[str, str]]:
    records, truth = make_planted(60, seed=3)
    rows: dict[str, list[dict[str, str]]] = {"zh": [], "en": []}
    for r in records:
        rows[r["source"]].append({"instruction": r["messages"][0]["content"], "input": "", "output": "x",
                                  "orig": r["id"]})
    for name, items in rows.items():
        (root / f"{name}.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items),
                                            encoding="utf-8")
    return root, truth


def test_dedup_command_minhash(tmp_path: Path) -> None:
    root, truth = write_inputs(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["dedup", str(root / "en.jsonl"), str(root / "zh.jsonl"), "--method",
                                      "minhash", "--on", "prompt", "--out", str(out), "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    kept = [json.loads(line) for line in (out / "data.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(kept) == 60
    with open(out / "summary.csv", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert table[-1] == {"source": "TOTAL", "before": str(60 + len(truth)), "after": "60",
                         "removed_duplicate_near": str(len(truth))}
    clusters = json.loads((out / "clusters.json").read_text(encoding="utf-8"))
    assert clusters[0]["size"] == 3 and clusters[0]["members"][0]["kept"] is True
    assert [c["size"] for c in clusters] == sorted((c["size"] for c in clusters), reverse=True)
    with open(out / "labels.csv", encoding="utf-8") as fh:
        labels = list(csv.DictReader(fh))
    assert len(labels) == sum(c["size"] for c in clusters)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["reconciled"] is True
    dropped = [json.loads(line) for f in (out / ".datamill/steps/01-dedup_minhash/dropped").glob("*.jsonl")
               for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(dropped) == len(truth)
    assert all(set(d["detail"]) == {"duplicate_of", "similarity", "cluster"} for d in dropped)


def test_dedup_command_exact_and_bad_method(tmp_path: Path) -> None:
    root, _ = write_inputs(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["dedup", str(root / "en.jsonl"), "--method", "exact", "--out", str(out),
                                      "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "summary.csv").read_text().startswith("source,before,after,removed_duplicate_exact\n")
    bad = CliRunner().invoke(app, ["dedup", str(root / "en.jsonl"), "--method", "fuzzy", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown dedup method" in bad.output
