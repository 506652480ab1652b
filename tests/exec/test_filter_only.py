"""Filter-only global steps (dedup) keep records in their stored bytes in the apply phase: the result
must be byte-identical to decoding, applying and re-encoding every record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data
from datamill.steps.dedup.minhash import DedupMinHash
from datamill.steps.dedup_exact import DedupExact


def _write_input(path: Path) -> None:
    rows = []
    for i in range(300):
        base = f"question {i % 40} about the {'red' if i % 3 else 'blue'} fox and its {i % 7} friends today"
        rows.append({"instruction": base + (" again" if i % 11 == 0 else ""), "output": f"answer {i} ü 中文",
                     "score": i / 7, "tags": [i, None, True], "nested": {"k": 1.5e-7}})
        if i % 10 == 9:
            rows.append(dict(rows[-1]))  # an exact duplicate
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")


def _stage_bytes(stage: Path) -> dict[str, bytes]:
    out = {}
    for f in sorted(stage.rglob("*")):
        if f.is_file() and (f.name.endswith(".jsonl.zst") or f.parent.name == "dropped"):
            data = f.read_bytes()
            out[str(f.relative_to(stage))] = zstandard.ZstdDecompressor().decompressobj().decompress(data) \
                if f.name.endswith(".zst") else data
    return out


def _run(tmp: Path, name: str) -> dict[str, dict[str, bytes]]:
    recipe = {"name": "f", "inputs": [{"path": str(tmp / "in.jsonl")}], "executor": {"shard_size": 64},
              "steps": [{"dedup_exact": {"on": "prompt+answer"}},
                        {"dedup_minhash": {"on": "prompt", "threshold": 0.6}}],
              "outputs": [{"format": "jsonl", "path": "export/"}]}
    summary = run_recipe(load_recipe_data(recipe, tmp), tmp / name, workers=1, fresh=True)
    assert sum(summary["totals"]["dropped"].values()) > 0
    steps = tmp / name / "steps"
    return {d.name: _stage_bytes(d) for d in sorted(steps.iterdir()) if d.name != "00-read"}


def test_raw_apply_is_byte_identical_to_decode_apply_encode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_input(tmp_path / "in.jsonl")
    raw = _run(tmp_path, "raw")
    monkeypatch.setattr(DedupExact, "filter_only", False)
    monkeypatch.setattr(DedupMinHash, "filter_only", False)
    monkeypatch.setattr(DedupExact, "apply", lambda self, record, index, plan:
                        record if (d := self.decide(index, plan)) is None else d)
    monkeypatch.setattr(DedupMinHash, "apply", lambda self, record, index, plan:
                        record if (d := self.decide(index, plan)) is None else d)
    decoded = _run(tmp_path, "decoded")
    assert raw.keys() == decoded.keys() and len(raw) == 2
    for stage in raw:
        assert raw[stage] == decoded[stage], stage
        assert any("dropped" in k for k in raw[stage]), stage
