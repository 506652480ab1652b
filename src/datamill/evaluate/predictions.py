"""Score a trainer's own predictions file instead of generating: LLaMA-Factory's
``generated_predictions.jsonl`` (``do_predict`` or ``scripts/vllm_infer.py``; one ``{"prompt", "predict",
"label"}`` per test example, in dataset order).

Its ``prompt`` is the templated text the model read (special tokens included) and it carries no
categories. Given the test data (``--data``, the file or run the predictions were made on), rows are
joined by position and each ``label`` is checked against the item's reference (equal after whitespace
is collapsed, or a prefix of it when ``cutoff_len`` cut the label): the items then have the data's ids,
prompts and fields, so breakdowns work and ``--compare`` can pair the file with a ``datamill eval`` of
the same data. A row count or label that does not match is an error, never a silent misalignment.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from datamill.errors import InputError
from datamill.evaluate.data import EvalData, EvalItem
from datamill.evaluate.run import score_all, write_outputs
from datamill.evaluate.spec import EvalSpec

_SPACE = re.compile(r"\s+")


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """The rows of a predictions file; a row without ``predict`` is an error naming its line."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}:{n}: not JSON ({exc})") from None
            if not isinstance(row, dict) or "predict" not in row:
                raise InputError(f"{path}:{n}: expected an object with prompt, predict and label",
                                 hint="this reads LLaMA-Factory's generated_predictions.jsonl")
            rows.append(row)
    if not rows:
        raise InputError(f"{path} holds no predictions")
    return rows


def _same_label(label: str, reference: str | None) -> bool:
    if reference is None:
        return not label.strip()
    a, b = _SPACE.sub(" ", label).strip(), _SPACE.sub(" ", reference).strip()
    return a == b or (bool(a) and b.startswith(a))


def align(rows: list[dict[str, Any]], data: EvalData) -> list[EvalItem]:
    """The data's items for the prediction rows (same order), after checking every label."""
    if len(rows) != len(data.items):
        raise InputError(f"{len(rows)} predictions but {len(data.items)} test items in {data.source}",
                         hint="pass the data (and --split) the predictions were made on")
    for n, (row, item) in enumerate(zip(rows, data.items, strict=True), start=1):
        if not _same_label(str(row.get("label") or ""), item.reference):
            raise InputError(f"prediction {n}: its label does not match item {item.id}'s reference "
                             f"({str(row.get('label'))[:80]!r} vs {str(item.reference)[:80]!r})",
                             hint="the predictions and the data are not in the same order or not the same set")
    return data.items


def score_predictions(path: Path, spec: EvalSpec, out: Path, data: EvalData | None = None) -> dict[str, Any]:
    """``eval.json`` + ``answers.jsonl`` in ``out`` for a predictions file (no generation)."""
    started = time.perf_counter()
    rows = read_predictions(path)
    if data is not None:
        items = align(rows, data)
        evaluated = EvalData(data.source, data.split, items, data.skipped, data.record_format)
    else:
        items = []
        for n, row in enumerate(rows, start=1):
            messages = [{"role": "user", "content": str(row.get("prompt") or "")}]
            label = row.get("label")
            items.append(EvalItem(str(n), messages, None if label is None else str(label), {"messages": messages}))
        evaluated = EvalData(str(path), None, items, Counter(), "llamafactory-predictions")
    answers = [str(row["predict"]) for row in rows]
    out.mkdir(parents=True, exist_ok=True)
    metrics = score_all(spec, evaluated.items, list(answers), out)
    extra = {"answers": {"file": "answers.jsonl", "predictions": str(path), "cached": 0, "new": 0, "errors": {},
                         "truncated": None},
             "seconds": round(time.perf_counter() - started, 2)}
    named = spec.model_copy(update={"model": spec.model or f"predictions:{path.name}"})
    return write_outputs(out, named, evaluated, list(answers), metrics, extra)
