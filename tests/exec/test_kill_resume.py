"""A run killed with SIGKILL at random moments, then re-run, writes byte-identical outputs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROWS = 60_000


def _write_inputs(root: Path) -> Path:
    data = root / "data"
    data.mkdir()
    rng = random.Random(7)
    for part in range(3):
        with open(data / f"part{part}.jsonl", "w", encoding="utf-8") as fh:
            for _ in range(ROWS // 3):
                k = rng.randrange(ROWS // 2)
                fh.write(json.dumps({"instruction": f"问题 {k} question", "input": "", "output": f"answer {k}",
                                     "group": f"g{k % 5}"}, ensure_ascii=False) + "\n")
    recipe = {
        "name": "killme",
        "inputs": [{"path": "data/*.jsonl"}],
        "steps": [
            {"filter": {"expr": "len(answer) > 0"}},
            {"dedup_exact": {"on": "prompt+answer"}},
            {"sample": {"n": 20000, "seed": 3, "by": "meta.group"}},
            {"split": {"ratios": {"train": 0.9, "test": 0.1}, "seed": 0}},
            {"trim_to_multiple": {"k": 8}},
        ],
        "outputs": [{"format": "jsonl", "path": "export/"}, {"format": "parquet", "path": "export/pq/"}],
        "executor": {"shard_size": 1500},
    }
    path = root / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _cmd(recipe: Path, workdir: Path) -> list[str]:
    return [sys.executable, "-m", "datamill", "run", str(recipe), "--workdir", str(workdir), "--quiet",
            "--workers", "2"]


def _outputs(workdir: Path) -> dict[str, bytes]:
    export = workdir / "export"
    return {str(p.relative_to(export)): p.read_bytes() for p in sorted(export.rglob("*")) if p.is_file()}


def test_sigkill_at_random_moments_then_resume_gives_identical_output(tmp_path: Path) -> None:
    recipe = _write_inputs(tmp_path)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    started = time.monotonic()
    subprocess.run(_cmd(recipe, tmp_path / "reference"), check=True, env=env, timeout=300)
    reference_seconds = time.monotonic() - started
    reference = _outputs(tmp_path / "reference")
    assert {"train.jsonl", "test.jsonl", "pq/train.parquet", "pq/test.parquet"} <= set(reference)

    rng = random.Random(int(os.environ.get("DATAMILL_KILL_SEED", "11")))
    workdir = tmp_path / "killed"
    kills = 0
    for _ in range(5):
        proc = subprocess.Popen(_cmd(recipe, workdir), env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, max(0.6, reference_seconds * 0.9)))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the run and its pool workers, like a machine crash
            kills += 1
        proc.wait()
    assert kills >= 1, "the run finished before any kill; make the workload larger"
    done = subprocess.run(_cmd(recipe, workdir), env=env, timeout=300, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _outputs(workdir) == reference
    summary = json.loads((workdir / "summary.json").read_text())
    ref_summary = json.loads((tmp_path / "reference/summary.json").read_text())
    assert summary["totals"] == ref_summary["totals"]
    assert summary["reconciled"] is True
