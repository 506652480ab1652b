"""Gather a finished run's numbers for the build report (``report.json``) from what the run left behind.

Everything comes from files the engine already wrote: ``summary.json``, each stage's ``stats.json``,
the per-shard profiles (:mod:`datamill.report.profile`, merged here), the dedup files, the head of the
quarantine files and any ``eval.json``. No record is read again, except when a run made before profiles
existed (or resumed onto a stage that was not the last one then) lacks the last stage's profiles: those
are computed by reading that stage once, and the report says so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson

from datamill.errors import InputError
from datamill.report import sections
from datamill.report.profile import NO_SPLIT, PARTS, Profile, ProfileSpec, merge_profiles
from datamill.report.sketches import LengthHist, bin_range

VERSION = 1
#: quarantine lines read for the error table (the count comes from the stats, not from this)
QUARANTINE_LINES = 5000
QUARANTINE_EXAMPLES = 10


def load_summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "summary.json"
    if not path.is_file():
        raise InputError(f"{run_dir} has no summary.json: it is not the work directory of a finished run",
                         hint="run the recipe first: datamill run RECIPE --workdir " + str(run_dir))
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def stage_profile_paths(stage: Path) -> list[Path]:
    """The profile files a stage's shards should have (read: one per input file)."""
    if stage.name.endswith("-read"):
        return sorted(p.with_name(p.name.removesuffix(".json") + ".profile.json")
                      for p in (stage / "_files").glob("*.json") if not p.name.endswith(".profile.json"))
    # one per shard the stage processed (a stage fused with the ones after it stores no records, but every
    # stage writes its per-shard stats)
    return sorted(p.with_name(p.name.removesuffix(".stats.json") + ".profile.json")
                  for p in stage.glob("*.stats.json"))


def read_stage_profile(stage: Path, *, need_full: bool, notes: list[str]) -> Profile | None:
    """The merged profile of a stage; for the last stage (``need_full``) computed from its records when the
    profiles are missing or were collected when the stage was not the last one."""
    profile, missing = merge_profiles(stage_profile_paths(stage))
    if need_full and (profile is None or missing or not profile.full):
        from datamill.exec.shards import read_shard

        full = Profile(ProfileSpec(full=True))
        for shard in sorted(stage.glob("*.jsonl.zst")):
            for record in read_shard(shard):
                full.kept(record)
        full.settle()
        notes.append(f"the composition, lengths and samples were computed by reading {full.records} records of "
                     f"{stage.name} (its shards had no full profile: a run made by an older datamill, or a "
                     "resumed run whose last stage was not last before)")
        if profile is not None:
            full.drops, full.changes, full.verdicts = profile.drops, profile.changes, profile.verdicts
        return full
    return profile


def _hist_json(hist: LengthHist) -> dict[str, Any]:
    return {
        "n": hist.n, "mean": round(hist.total / hist.n, 1) if hist.n else 0, "min": hist.min, "max": hist.max,
        "p50": round(hist.quantile(0.5)), "p90": round(hist.quantile(0.9)), "p99": round(hist.quantile(0.99)),
        "bins": [[round(bin_range(b)[0], 2), round(bin_range(b)[1], 2), c] for b, c in sorted(hist.bins.items())],
    }


def composition(profile: Profile) -> dict[str, Any]:
    """Counts per split of kind, source, language, category and tags in the final records."""
    splits = sorted({split for _, split in profile.counts}, key=lambda s: (s == NO_SPLIT, s))
    fields: dict[str, dict[str, dict[str, int]]] = {}
    for (name, split), counter in sorted(profile.counts.items()):
        fields.setdefault(name, {})[split] = dict(counter.most_common())
    return {"records": profile.records, "splits": splits, "fields": fields}


def lengths(profile: Profile) -> dict[str, Any]:
    """Character-length histograms per split, kind and part (prompt, answer, total)."""
    groups = []
    for (split, kind, part), hist in sorted(profile.lengths.items()):
        groups.append({"split": split, "kind": kind, "part": part, **_hist_json(hist)})
    overall: dict[str, LengthHist] = {}
    for (_, _, part), hist in profile.lengths.items():
        overall.setdefault(part, LengthHist()).merge(hist)
    return {"unit": "characters", "groups": groups,
            "overall": {part: _hist_json(overall[part]) for part in PARTS if part in overall}}


def scores(profile: Profile) -> dict[str, Any]:
    out = {}
    for name, values in sorted(profile.scores.items()):
        out[name] = {"n": values.n, "mean": round(values.total / values.n, 4) if values.n else None,
                     "min": values.min, "max": values.max,
                     "hist": [[round(lo, 4), round(hi, 4), c] for lo, hi, c in values.histogram()]}
    return out


def _error_kind(error: str) -> str:
    return re.sub(r"\d+", "N", error)[:120]


def quarantine(run_dir: Path, total: int) -> dict[str, Any]:
    """Quarantined rows: counts by stage and error (from the first lines of the files) and examples."""
    folder = run_dir / "quarantine"
    groups: dict[tuple[str, str], int] = {}
    examples: list[dict[str, Any]] = []
    read = 0
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        with open(path, "rb") as fh:
            for line in fh:
                if read >= QUARANTINE_LINES:
                    break
                read += 1
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                key = (str(entry.get("stage")), _error_kind(str(entry.get("error"))))
                groups[key] = groups.get(key, 0) + 1
                if len(examples) < QUARANTINE_EXAMPLES:
                    raw = entry.get("raw") if "raw" in entry else entry.get("row")
                    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
                    examples.append({"stage": entry.get("stage"), "source": entry.get("source"),
                                     "location": entry.get("location"), "error": entry.get("error"),
                                     "raw": text[:500]})
    return {"total": total, "lines_read": read,
            "groups": [{"stage": s, "error": e, "count": c} for (s, e), c in
                       sorted(groups.items(), key=lambda kv: -kv[1])],
            "examples": examples}


def _stage_entry(step: dict[str, Any], profile: Profile | None) -> dict[str, Any]:
    entry = {k: step.get(k) for k in ("name", "step", "in", "out", "dropped", "quarantined", "generated", "seconds",
                                      "notes")}
    entry["examples"] = {} if profile is None else {r: s.items() for r, s in profile.drops.items()}
    entry["changed"] = 0 if profile is None else profile.changes.seen
    entry["changes"] = [] if profile is None else profile.changes.items()
    return entry


def _output_entry(run_dir: Path, index: int, out: dict[str, Any]) -> dict[str, Any]:
    folder = run_dir / "outputs" / f"{index:02d}-{out.get('format')}"
    profile, _ = merge_profiles([folder / "profile.json"])
    entry = {k: out.get(k) for k in ("format", "path", "where", "in", "out", "dropped", "notes")}
    entry["files"] = [{k: f.get(k) for k in ("path", "split", "records")} for f in out.get("files", [])]
    entry["examples"] = {} if profile is None else {r: s.items() for r, s in profile.drops.items()}
    entry["rows"] = {} if profile is None else {f: s.items() for f, s in sorted(profile.rows.items())}
    return entry


def build_model(run_dir: Path, *, tokens: dict[str, Any] | None = None,
                eval_paths: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Everything the report shows, as JSON-serialisable data (``report.json``)."""
    summary = load_summary(run_dir)
    notes: list[str] = []
    steps = summary.get("steps", [])
    stage_dirs = [run_dir / "steps" / str(s["name"]) for s in steps]
    profiles: list[Profile | None] = []
    for i, stage in enumerate(stage_dirs):
        last = i == len(stage_dirs) - 1
        profiles.append(read_stage_profile(stage, need_full=last, notes=notes) if stage.is_dir() else None)
    final = profiles[-1] if profiles else None
    totals = summary.get("totals", {})
    model: dict[str, Any] = {
        "version": VERSION,
        "run": {k: summary.get(k) for k in ("recipe", "workdir", "started_at", "seconds", "datamill_version",
                                            "reconciled")},
        "totals": totals,
        "inputs": [{"file": i.get("file"), "source": i.get("source"), "format": i.get("format"),
                    "confidence": (i.get("detection") or {}).get("confidence"),
                    "file_detection": i.get("file_detection"),
                    **{k: (i.get("stats") or {}).get(k) for k in ("in", "out", "quarantined", "notes")}}
                   for i in summary.get("inputs", [])],
        "stages": [_stage_entry(s, p) for s, p in zip(steps, profiles, strict=True)],
        "outputs": [_output_entry(run_dir, i, o) for i, o in enumerate(summary.get("outputs", []))],
        "quarantine": quarantine(run_dir, int(totals.get("quarantined", 0))),
        "dedup": sections.dedup(steps, stage_dirs),
        "llm": sections.llm(steps, profiles),
        "splits": sections.splits(steps),
        "eval": sections.evaluations(run_dir, eval_paths),
        "review": sections.review(run_dir),
        "notes": notes,
    }
    if final is not None and final.full:
        model["composition"] = composition(final)
        model["lengths"] = lengths(final)
        model["scores"] = scores(final)
        model["samples"] = {split: s.items() for split, s in
                            sorted(final.samples.items(), key=lambda kv: (kv[0] == NO_SPLIT, kv[0]))}
    if tokens is not None:
        model["tokens"] = tokens
    return model
