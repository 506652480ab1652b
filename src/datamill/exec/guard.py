"""The engine's invariants, checked for every stage: counts reconcile, and no stage silently loses its input.

A stage that drops or quarantines every record of a non-empty input (or more than the recipe's
``max_loss`` share) is almost always a mistake (a wrong field mapping, a typo in an expression, the
answer column left unmapped), so the run stops with exit code 6 and a message that names the stage,
the reasons, one example and what to check, instead of exiting 0 with nothing written.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from datamill.errors import DataLossError, ReconcileError
from datamill.exec import store
from datamill.report.stats import StageStats

#: what to check, by drop reason (prefix match); the generic advice follows
HINTS: tuple[tuple[str, str], ...] = (
    ("expr_error", "the expression failed on every record: check the field names it uses"),
    ("no_final_answer", "the records have no assistant answer: map the answer column "
                               "(recipe: fields: {answer: COLUMN}; convert: --field answer=COLUMN)"),
    ("no_prompt", "the records have no prompt: map the prompt column (fields: {prompt: COLUMN})"),
    ("not_selected", "no output's 'where' selected these records: check the expressions"),
    ("score_missing", "the score field is missing: check its path (a CSV column is meta.<column>)"),
    ("llm_", "the LLM calls failed: check the server, the model name and the API key"),
)
#: what to check when quarantined rows are the main loss: rows that parsed but did not fit the record format,
#: rows that did not parse at all, and records on which a step raised
READ_HINT = "the rows could not be read as records: check format: and fields: (or --format/--field)"
PARSE_HINT = ("the rows are not valid for the file's container: look at the first error (is the file what its "
              "name says? set file_format: or options: like delimiter or encoding if not)")
STEP_HINT = "the step raised an error on the records: the error is in the quarantine file"


def check_reconciles(label: str, stats: StageStats) -> None:
    """``in + generated == out + dropped + quarantined``, or a :class:`ReconcileError` naming the numbers."""
    if not stats.reconciles():
        raise ReconcileError(
            f"{label}: counts do not reconcile: in {stats.records_in} + generated {stats.generated} != "
            f"out {stats.records_out} + dropped {stats.dropped_total} + quarantined {stats.quarantined}",
            hint="this is a datamill bug; please report it with the stage's stats.json",
        )


def lost_too_much(stats: StageStats, max_loss: float | None) -> bool:
    """True when the stage lost everything (``max_loss`` None) or more than the ``max_loss`` share."""
    total = stats.records_in + stats.generated
    lost = stats.dropped_total + stats.quarantined
    if total == 0 or lost == 0:
        return False
    if max_loss is None:
        return stats.records_out == 0
    return lost / total > max_loss


def check_loss(label: str, stats: StageStats, max_loss: float | None, *, dropped_dir: Path | None = None,
               quarantine: list[Path] | None = None, what: str = "records", reading: bool = False) -> None:
    """Raise :class:`DataLossError` when :func:`lost_too_much`; the message gives the reasons by count,
    one example (the first dropped entry's detail or the first quarantine error) and what to check."""
    if not lost_too_much(stats, max_loss):
        return
    total = stats.records_in + stats.generated
    lost = stats.dropped_total + stats.quarantined
    reasons: Counter[str] = Counter(stats.dropped)
    if stats.quarantined:
        reasons["quarantined"] = stats.quarantined
    listed = ", ".join(f"{reason}: {n}" for reason, n in reasons.most_common(5))
    how = "every one" if stats.records_out == 0 else f"{lost / total:.0%}, more than max_loss {max_loss}"
    message = f"{label} lost {lost} of {total} {what} ({how}): {listed}"
    example = _example(dropped_dir, quarantine or [], reasons.most_common(1)[0][0])
    if example:
        message += f"; for example: {example}"
    top = reasons.most_common(1)[0][0]
    if top == "quarantined":
        mapped = bool(example) and ": " in (example or "") and _adapter_error(example or "")
        advice: str | None = (READ_HINT if mapped else PARSE_HINT) if reading else STEP_HINT
    else:
        advice = next((text for prefix, text in HINTS if top.removeprefix("export:").startswith(prefix)), None)
    dropped_files = store.glob(dropped_dir, "*.jsonl") if dropped_dir is not None else []
    where = [str(dropped_dir)] if dropped_files else []
    where += [str(p) for p in (quarantine or []) if store.exists(p)][:1]
    hint = "; ".join(filter(None, [
        advice,
        f"the records and their reasons are in {', '.join(where)}" if where else None,
        "if this is what you want, set max_loss: 1 in the recipe or on the step (datamill convert and dedup: "
        "--max-loss 1)",
    ]))
    raise DataLossError(message, hint=hint)


def _adapter_error(example: str) -> bool:
    """True when the quarantine error came from a format adapter (``alpaca: missing field ...``): the row was
    parsed, so the mapping is what to check; parse errors name no format."""
    from datamill.formats.registry import adapter_names

    error = example.split(": ", 1)[1] if ": " in example else example
    return any(error.startswith(f"{name}: ") for name in adapter_names())


def _first_line(paths: list[Path], reason: str | None = None) -> dict[str, Any] | None:
    for path in sorted(paths):
        try:
            with store.open_read(path) as fh:
                for line in fh:
                    entry = json.loads(line)
                    if reason is None or entry.get("reason") == reason:
                        return entry if isinstance(entry, dict) else None
        except (OSError, ValueError):
            continue
    return None


def _example(dropped_dir: Path | None, quarantine: list[Path], top_reason: str) -> str | None:
    """A short description of one lost record: where it came from and why it was lost."""
    if top_reason == "quarantined":
        entry = _first_line(quarantine)
        if entry is None:
            return None
        return f"{entry.get('location')}: {entry.get('error')}"
    if dropped_dir is None:
        return None
    entry = _first_line(store.glob(dropped_dir, "*.jsonl"), top_reason)
    if entry is None:
        return None
    found = entry.get("record")
    record: dict[str, Any] = found if isinstance(found, dict) else {}
    detail = entry.get("detail")
    text = f"{record.get('id', '?')}: {entry.get('reason')}"
    if detail:
        text += f" {json.dumps(detail, ensure_ascii=False)[:300]}"
    fields = [k for k in record if k not in ("id", "source", "source_id", "meta")]
    meta = record.get("meta")
    fields += [f"meta.{k}" for k in meta] if isinstance(meta, dict) else []
    return text + f" (the record has: {', '.join(fields)})" if fields else text
