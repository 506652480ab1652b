"""Parallel export: parts written per shard and joined are byte-identical to one process writing every
record in order, for every joinable writer (lines, JSON arrays, Parquet), with routing and refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.exec import run
from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data

OUTPUTS = [
    {"format": "jsonl", "path": "export/jsonl/"},
    {"format": "jsonl", "path": "export/one.jsonl"},
    {"format": "jsonl", "path": "export/all/", "split_by": None},
    {"format": "jsonl", "path": "export/by_topic/", "split_by": "{meta.topic}-{split}"},
    {"format": "llamafactory-alpaca", "path": "export/lf/", "options": {"dataset_name": "d"}},
    {"format": "llamafactory-sharegpt", "path": "export/lfs/", "where": "meta.topic != 'c'"},
    {"format": "parquet", "path": "export/parquet/"},
    {"format": "openai", "path": "export/openai/"},
    {"format": "trl", "path": "export/trl/"},
    {"format": "sharegpt", "path": "export/sharegpt/"},
]


def rows() -> list[dict[str, Any]]:
    out = []
    for i in range(700):
        row: dict[str, Any] = {"instruction": f"q{i}", "input": "", "output": "" if i % 50 == 0 else f"a{i}",
                               "topic": "abc"[i % 3]}
        if i % 41 == 0:
            row["split"] = "keep-me"  # a field named like the file key inside the original row
        out.append(row)
    return out


def export(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, parallel: bool, report: bool = True) -> Path:
    if not parallel:
        monkeypatch.setattr(run, "joinable", lambda exporter: None)
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows()))
    recipe = {"name": "p", "inputs": [{"path": "d.jsonl"}],
              "steps": [{"split": {"ratios": {"train": 0.8, "test": 0.2}, "seed": 3}}],
              "outputs": OUTPUTS, "executor": {"shard_size": 60}}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / name, workers=2, report=report)
    monkeypatch.undo()
    assert summary["reconciled"]
    return tmp_path / name


@pytest.mark.parametrize("report", [True, False], ids=["sampled", "block-copy"])
def test_joined_parts_equal_a_sequential_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: bool) -> None:
    """Without the report (no row samples), canonical JSON Lines into one file per output are copied in blocks
    of stored lines: the same bytes."""
    sequential = export(tmp_path, "seq", monkeypatch, parallel=False)
    parallel = export(tmp_path, "par", monkeypatch, parallel=True, report=report)
    seq_files = {str(p.relative_to(sequential)): p.read_bytes() for p in sorted(sequential.rglob("export/**/*"))
                 if p.is_file()}
    par_files = {str(p.relative_to(parallel)): p.read_bytes() for p in sorted(parallel.rglob("export/**/*"))
                 if p.is_file()}
    assert seq_files == par_files
    assert len(seq_files) >= 20  # every format wrote its files (train/test, by topic, dataset_info.json...)
    assert not list(parallel.glob("outputs/*/parts"))  # parts are removed once joined
    for a, b in zip(sorted(sequential.glob("outputs/*/stats.json")), sorted(parallel.glob("outputs/*/stats.json")),
                    strict=True):
        sa = json.loads(a.read_text().replace(str(sequential), "WD"))
        sb = json.loads(b.read_text().replace(str(parallel), "WD"))
        assert {k: sa[k] for k in ("in", "out", "dropped", "notes", "files")} == \
               {k: sb[k] for k in ("in", "out", "dropped", "notes", "files")}, a.parent.name
        assert (a.parent / "status.bin").read_bytes() == (b.parent / "status.bin").read_bytes()
    refused = sorted(parallel.glob("outputs/*/dropped/*.jsonl"))
    assert refused and all(p.read_bytes() == (sequential / p.relative_to(parallel)).read_bytes() for p in refused)
    summary = json.loads((parallel / "summary.json").read_text())
    assert summary["totals"] == json.loads((sequential / "summary.json").read_text())["totals"]


def test_shard_blocks_hold_the_stored_lines(tmp_path: Path) -> None:
    """Blocks of whole lines equal the lines read one by one, each with its newline (blank lines and a last
    line without a newline included), across the reader's 1 MiB chunk edges."""
    import zstandard

    from datamill.exec.shards import read_shard_blocks, read_shard_lines

    lines = [json.dumps({"id": i, "t": "x" * (i % 300), "zh": "数据" * (i % 7)}).encode() for i in range(20000)]
    raw = b"\n".join([*lines[:5], b"", *lines[5:]]) + b"\n\n" + b'{"id": "last"}'
    path = tmp_path / "s.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(raw))
    blocks = list(read_shard_blocks(path))
    assert len(blocks) > 1
    expected = list(read_shard_lines(path))
    assert b"".join(b for b, _ in blocks) == b"".join(line + b"\n" for line in expected)
    assert sum(n for _, n in blocks) == len(expected) == 20001


MODE_OUTPUTS = [
    {"format": "llamafactory-sharegpt", "path": "export/lfs/", "options": {"dataset_name": "d"}},
    {"format": "llamafactory-alpaca", "path": "export/lfa/", "options": {"dataset_name": "d"}},
    {"format": "trl", "path": "export/trl/"},
]


def mode_rows(first: str) -> list[dict[str, Any]]:
    """OpenAI-style rows: KTO-labelled answers and plain SFT ones, the first ``first`` (kto or sft), and the
    other shape starting in later shards."""
    out = []
    for i in range(300):
        kto = (i < 40 or 150 <= i < 200) if first == "kto" else (40 <= i < 150)
        row: dict[str, Any] = {"messages": [{"role": "user", "content": f"q{i}"},
                                            {"role": "assistant", "content": f"a{i}"}]}
        if kto:
            row["label"] = i % 3 != 0
        out.append(row)
    return out


@pytest.mark.parametrize("first", ["kto", "sft"])
def test_auto_mode_is_the_first_records_in_every_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      first: str) -> None:
    """``mode: auto`` takes the first record's shape for the whole file, whichever worker writes which shard:
    the parallel export refuses what one writer refuses, and dataset_info.json describes the rows (before, each
    part locked on its own first record and the registry, written in the driver, said sft: LLaMA-Factory read
    KTO's unwanted answers as training targets)."""
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in mode_rows(first)))

    def export(name: str, parallel: bool) -> Path:
        if not parallel:
            monkeypatch.setattr(run, "joinable", lambda exporter: None)
        recipe = {"name": "m", "inputs": [{"path": "d.jsonl", "format": "openai"}], "outputs": MODE_OUTPUTS,
                  "executor": {"shard_size": 25}, "max_loss": 1}
        summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / name, workers=2)
        monkeypatch.undo()
        assert summary["reconciled"]
        return tmp_path / name

    sequential, parallel = export("seq", False), export("par", True)
    files = {str(p.relative_to(parallel)): p.read_bytes() for p in sorted(parallel.rglob("export/**/*"))
             if p.is_file()}
    assert files == {str(p.relative_to(sequential)): p.read_bytes()
                     for p in sorted(sequential.rglob("export/**/*")) if p.is_file()}
    for folder in ("lfs", "lfa"):
        entry = json.loads((parallel / "export" / folder / "dataset_info.json").read_text())["d"]
        assert ("kto_tag" in entry["columns"]) == (first == "kto"), (folder, entry)
        rows = json.loads((parallel / "export" / folder / "data.json").read_text())
        assert len(rows) == (90 if first == "kto" else 190)
        assert all(("kto_tag" in row) == (first == "kto") for row in rows)
