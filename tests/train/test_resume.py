"""A killed ``datamill train`` resumes from its last checkpoint and ends at the same step count."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import arithmetic, write_export

pytest.importorskip("trl")

STEPS = 30


def _command(export: Path, model: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "datamill", "train", str(export), "--model", model, "--out", str(out),
            "--max-steps", str(STEPS), "--save-steps", "2", "--batch-size", "2", "--cutoff-len", "64", "--lr", "1e-3"]


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path: Path, tiny_model: str) -> None:
    export = write_export(tmp_path / "export", arithmetic(16))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(_command(export, tiny_model, out), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list((out / "checkpoints").glob("checkpoint-*/trainer_state.json")):
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "train.json").exists()  # killed before the end
    killed_at = max(int(p.name.split("-")[1]) for p in (out / "checkpoints").glob("checkpoint-*"))
    assert killed_at < STEPS

    again = subprocess.run(_command(export, tiny_model, out), env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    info = json.loads((out / "train.json").read_text())
    assert info["resumed_from"] is not None and int(info["resumed_from"].split("-")[1]) >= killed_at
    assert info["steps"] == STEPS
    assert f"resumed at step {info['resumed_from'].split('-')[1]}/{STEPS}" in again.stderr
    steps = [p["step"] for p in json.loads((out / "loss.json").read_text())]
    assert steps == list(range(1, STEPS + 1))  # the history of the killed part is kept, no step twice
