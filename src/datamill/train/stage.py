"""A recipe's ``train:`` block: training as the last, resumable stage of the work directory.

It runs after the outputs, on the run itself (``datamill train WORKDIR``), into ``WORKDIR/train/`` (or
``out:``). Its fingerprint is the block plus the fingerprint of the training files: when both are
unchanged since a finished training, the stage is skipped on resume; an interrupted one resumes from
its last checkpoint (TRL); changed data or settings train again (old checkpoints are discarded).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datamill.train.spec import TrainSpec

MARKER = "_SUCCESS"


def train_stage(spec: TrainSpec, workdir: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Run (or skip, or resume) the recipe's training; returns what ``summary.json`` records of it."""
    from datamill.exec.workdir import fingerprint
    from datamill.train.data import load_train_data
    from datamill.train.run import train

    out = Path(spec.out) if spec.out and Path(spec.out).is_absolute() else workdir / (spec.out or "train")
    data = load_train_data(workdir, spec.split)
    fp = fingerprint("train", spec.model_dump(mode="json"), data.fingerprint())
    marker = out / MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == fp:
        log(f"train: unchanged, skipped (resume); {out}")
        previous = out / "train.json"
        info = json.loads(previous.read_text(encoding="utf-8")) if previous.is_file() else {}
        return _short(info, out, skipped=True)
    stale = (out / "_FINGERPRINT").is_file() and (out / "_FINGERPRINT").read_text(encoding="utf-8").strip() != fp
    out.mkdir(parents=True, exist_ok=True)
    (out / "_FINGERPRINT").write_text(fp + "\n", encoding="utf-8")
    marker.unlink(missing_ok=True)
    info = train(workdir, spec, out, log=log, fresh=stale)
    marker.write_text(fp + "\n", encoding="utf-8")
    return _short(info, out, skipped=False)


def _short(info: dict[str, Any], out: Path, *, skipped: bool) -> dict[str, Any]:
    keys = ("backend", "model", "method", "stage", "dry_run", "steps", "final_loss", "seconds", "command")
    return {"out": str(out), "skipped": skipped, **{k: info[k] for k in keys if k in info}}
