"""``datamill check``: the handoff check, before any GPU time is spent.

With the target model's own tokenizer and chat template, every record of an export (or a run) is
measured and put through the chosen trainer's length limit and input rules
(:mod:`datamill.handoff.trainers`). The report says

* the token-length distribution per split and per kind, and how many records exceed 1024/2048/4096;
* how many records the trainer truncates at its limit, and how (``answer_cut``, ``prompt_cut``,
  ``turns_dropped``, ...), and how many answers lose their end-of-turn token that way (the model then
  learns not to stop);
* what the trainer rejects (``rejected``: skipped or crashing) or silently rewrites (``altered``);
* whether the end-of-turn token is inside the trained span of the records.

``report["over_cutoff"]`` counts records longer than the limit; ``report["records"]`` every record read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datamill.errors import InputError
from datamill.handoff.encode import ChatEncoder
from datamill.handoff.source import ReadCounts, data_files, iter_records
from datamill.handoff.trainers import BACKENDS, DEFAULT_LIMIT, outcome

THRESHOLDS = (1024, 2048, 4096)
EXAMPLES_PER_REASON = 3


def _percentiles(values: list[int]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    import numpy as np

    arr = np.asarray(values)
    return {"n": len(values), "mean": round(float(arr.mean()), 1), "p50": float(np.percentile(arr, 50)),
            "p90": float(np.percentile(arr, 90)), "p99": float(np.percentile(arr, 99)), "max": int(arr.max())}


@dataclass
class _Tally:
    lengths: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    over: Counter[str] = field(default_factory=Counter)
    thresholds: Counter[int] = field(default_factory=Counter)
    truncated: Counter[str] = field(default_factory=Counter)
    truncated_records: int = 0
    altered: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    eot_in_span: int = 0
    eot_missing: int = 0
    eot_lost: int = 0
    no_trained_tokens: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def example(self, reason: str, record_id: str) -> None:
        bucket = self.examples.setdefault(reason, [])
        if len(bucket) < EXAMPLES_PER_REASON:
            bucket.append(record_id)


def check_handoff(path: Path, model: str, *, backend: str = "llamafactory", cutoff_len: int | None = None,
                  packing: bool = False, limit: int | None = None, tokenizer: Any = None) -> dict[str, Any]:
    """The handoff report of the export or run at ``path`` for ``model`` trained with ``backend``."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend '{backend}'", hint=f"use one of {', '.join(BACKENDS)}")
    from datamill.models import load_tokenizer

    tok = tokenizer if tokenizer is not None else load_tokenizer(model)
    encoder = ChatEncoder(tok)
    cutoff = cutoff_len or DEFAULT_LIMIT[backend]
    files = data_files(path)
    counts = ReadCounts()
    tally = _Tally()
    n = 0
    for split, record in iter_records(files, counts, limit):
        n += 1
        enc = encoder.encode(record)
        total = enc.total
        kind = enc.kind
        tally.lengths.setdefault(split, {}).setdefault(kind, []).append(total)
        for t in THRESHOLDS:
            if total > t:
                tally.thresholds[t] += 1
        if total > cutoff:
            tally.over[split] += 1
        rid = str(record.get("id") or f"{split}:{n}")
        res = outcome(backend, enc, record, cutoff, packing=packing)
        for reason in res.altered:
            tally.altered[reason] += 1
            tally.example(f"altered:{reason}", rid)
        if res.rejected:
            tally.rejected[res.rejected] += 1
            tally.example(f"rejected:{res.rejected}", rid)
            continue
        if res.truncated:
            tally.truncated_records += 1
            for how in res.truncated:
                tally.truncated[how] += 1
                tally.example(f"truncated:{how}", rid)
        if res.trained_tokens == 0 and kind != "pretrain":
            tally.no_trained_tokens += 1
        answers = [t for t in enc.turns if t.target] + [a for a in (enc.chosen, enc.rejected) if a is not None]
        if kind != "pretrain" and answers:
            if all(a.eot for a in answers):
                tally.eot_in_span += 1
            else:
                tally.eot_missing += 1
                tally.example("eot_missing", rid)
        if res.eot_lost:
            tally.eot_lost += 1
            tally.example("eot_lost", rid)
    if n == 0:
        raise InputError(f"no records could be read from {path} ({counts.rows} rows, {counts.unreadable} unreadable)")
    by_split = {}
    for split, kinds in sorted(tally.lengths.items()):
        every = [v for vs in kinds.values() for v in vs]
        by_split[split] = {"records": len(every), "over_cutoff": tally.over[split], "tokens": _percentiles(every),
                           "by_kind": {k: _percentiles(v) for k, v in sorted(kinds.items())}}
    return {
        "path": str(path),
        "model": model,
        "backend": backend,
        "cutoff_len": cutoff,
        "packing": packing,
        "end_of_turn_token": encoder.eot_token,
        "chat_template": encoder.has_template,
        "records": n,
        "unreadable": counts.unreadable,
        "over_cutoff": sum(tally.over.values()),
        "over": {str(t): tally.thresholds[t] for t in THRESHOLDS},
        "by_split": by_split,
        "truncated": {"records": tally.truncated_records, **dict(sorted(tally.truncated.items()))},
        "end_of_turn": {"in_trained_span": tally.eot_in_span, "missing": tally.eot_missing,
                        "lost_by_truncation": tally.eot_lost},
        "no_trained_tokens": tally.no_trained_tokens,
        "rejected": dict(sorted(tally.rejected.items())),
        "altered": dict(sorted(tally.altered.items())),
        "examples": tally.examples,
        "files": [f.path for f in files],
    }


_EXPLAIN = {
    "answer_cut": "an answer keeps its start and loses its end",
    "answer_lost": "an answer starts after the limit (no trained tokens)",
    "prompt_cut": "a prompt is cut",
    "prompt_start_cut": "the start of a long prompt is cut (system prompt first)",
    "turns_dropped": "later turns are dropped",
    "text_cut": "the text is cut at the limit",
    "tool_message_raises": "openai_map_fn raises NotImplementedError on a tool message (the run fails)",
    "user_turns_merged": "consecutive user turns are concatenated without a separator",
    "leading_assistant_dropped": "leading assistant turns are skipped",
    "trailing_user_dropped": "user turns after the last answer are dropped",
    "answer_without_input": "an answer follows an answer: it gets an empty prompt",
    "system_moved": "a system turn after the first is attached to the next turn",
    "ends_without_answer": "the conversation ends on a user/tool turn (LLaMA-Factory: invalid message count)",
    "invalid_role_order": "roles do not alternate (LLaMA-Factory: invalid role tag)",
    "system_not_first": "a system turn after the first",
    "dropped_lengthy_packing": "longer than cutoff_len with packing: dropped",
    "text_split_across_blocks": "pretraining text longer than the limit is split across packed blocks",
}


def render_report(report: dict[str, Any]) -> str:
    """The one-screen text summary."""
    lines = [f"{report['path']}: {report['records']} records, model {report['model']}, backend "
             f"{report['backend']}, limit {report['cutoff_len']} tokens"
             + (f", {report['unreadable']} unreadable rows" if report["unreadable"] else "")]
    lines.append("")
    lines.append(f"{'split':<14}{'kind':<12}{'records':>8}{'mean':>8}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}"
                 f"{'>limit':>8}")
    for split, data in report["by_split"].items():
        for kind, stats in data["by_kind"].items():
            lines.append(f"{split[:13]:<14}{kind:<12}{stats['n']:>8}{stats['mean']:>8.0f}{stats['p50']:>8.0f}"
                         f"{stats['p90']:>8.0f}{stats['p99']:>8.0f}{stats['max']:>8}"
                         f"{data['over_cutoff'] if len(data['by_kind']) == 1 else '':>8}")
    over = report["over"]
    lines.append(f"over 1024: {over['1024']}   over 2048: {over['2048']}   over 4096: {over['4096']}   "
                 f"over the limit ({report['cutoff_len']}): {report['over_cutoff']}")
    lines.append("")
    trunc = dict(report["truncated"])
    total = trunc.pop("records")
    lines.append(f"truncated by {report['backend']}: {total}")
    lines.extend(f"  {how}: {n}  ({_EXPLAIN.get(how, how)})" for how, n in trunc.items())
    eot = report["end_of_turn"]
    lines.append(f"end-of-turn token {report['end_of_turn_token']!r}: inside the trained span in "
                 f"{eot['in_trained_span']}, missing in {eot['missing']}, cut off by truncation in "
                 f"{eot['lost_by_truncation']}")
    if report["no_trained_tokens"]:
        lines.append(f"records with no trained token left: {report['no_trained_tokens']}")
    for title, key in (("rejected (skipped or failing)", "rejected"), ("silently altered", "altered")):
        items = report[key]
        lines.append(f"{title}: {sum(items.values())}")
        lines.extend(f"  {reason}: {n}  ({_EXPLAIN.get(reason, reason)})" for reason, n in items.items())
    return "\n".join(lines)
