"""``build_report(run_dir)``: ``RUN_DIR/report/index.html`` (one self-contained page) and ``report.json``
(the same numbers) from a finished run's statistics."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from datamill.report.collect import build_model
from datamill.report.html import render
from datamill.report.tokens import DEFAULT_CUTOFF, recipe_cutoff, token_lengths


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_report(run_dir: Path, *, tokenizer: str | None = None, cutoff: int | None = None,
                 eval_paths: tuple[Path, ...] = (), out_dir: Path | None = None) -> ReportFiles:
    """Write the report of the run in ``run_dir`` (to ``run_dir/report`` unless ``out_dir``). The token
    histograms (with ``tokenizer``) mark ``cutoff``; by default the one the run's recipe sets
    (:func:`~datamill.report.tokens.recipe_cutoff`), else LLaMA-Factory's 2048."""
    folder = out_dir or run_dir / "report"
    folder.mkdir(parents=True, exist_ok=True)
    tokens = None
    if tokenizer:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        last = run_dir / "steps" / str(summary["steps"][-1]["name"])
        limit, source = (cutoff, "given") if cutoff is not None else \
            recipe_cutoff(run_dir) or (DEFAULT_CUTOFF, "default")
        tokens = {**token_lengths(last, tokenizer, limit, folder), "cutoff_from": source}
    model = build_model(run_dir, tokens=tokens, eval_paths=eval_paths)
    files = ReportFiles(folder / "index.html", folder / "report.json")
    _write(files.json, json.dumps(model, ensure_ascii=False, indent=1, default=str) + "\n")
    _write(files.html, render(model))
    return files
