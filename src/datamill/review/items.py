"""The records under review: one finished stage of a run, held as stored bytes plus a few columns for
filtering (label, source, split, scores, tags), and the dedup clusters of the run's dedup stages.

Only the finished stages of ``RUN_DIR/steps`` are offered, by folder name; nothing outside the work
directory is ever opened. A stage larger than ``limit`` records is cut at ``limit`` (and says so):
review a sample (``sample`` step) rather than millions of records.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from datamill.errors import InputError
from datamill.exec.shards import SHARD_SUFFIX, read_shard_lines
from datamill.records import answer_text, get_field, prompt_text

DEFAULT_LIMIT = 200_000


def finished_stages(run_dir: Path) -> list[Path]:
    steps = run_dir / "steps"
    if not steps.is_dir():
        raise InputError(f"{run_dir} is not a datamill work directory (no steps/ folder)",
                         hint="give the --workdir of a run: datamill review runs/NAME")
    return sorted(p for p in steps.iterdir() if p.is_dir() and (p / "_SUCCESS").exists())


def _step_of(stage: Path) -> str | None:
    stats = stage / "stats.json"
    if not stats.exists():
        return None
    step = json.loads(stats.read_text(encoding="utf-8")).get("step")
    return None if step is None else str(step)


def pick_stage(run_dir: Path, name: str | None) -> Path:
    """The stage to review: ``name`` as a folder (``02-llm_label``), a step name (its last stage) or an
    index; by default the stage a ``review_apply`` step reads (the one before it), else the last one."""
    stages = finished_stages(run_dir)
    if not stages:
        raise InputError(f"{run_dir} has no finished stage to review", hint="run the recipe first")
    if name is None:
        for before, stage in itertools.pairwise(stages):
            if _step_of(stage) == "review_apply":
                return before
        return stages[-1]
    exact = [s for s in stages if s.name == name]
    if exact:
        return exact[0]

    def index(stage: Path) -> str:
        return stage.name.split("-", 1)[0]

    loose = [s for s in stages if s.name.split("-", 1)[-1] == name
             or (name.isdigit() and index(s).isdigit() and int(index(s)) == int(name))]
    if loose:
        return loose[-1]
    raise InputError(f"no finished stage '{name}' in {run_dir}", hint="stages: " + ", ".join(s.name for s in stages))


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


@dataclass
class Items:
    """A stage's records for review, in stage order."""

    stage: Path
    label_field: str
    lines: list[bytes] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)
    splits: list[str | None] = field(default_factory=list)
    tags: list[tuple[str, ...]] = field(default_factory=list)
    scores: dict[str, list[float | None]] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    total_in_stage: int = 0

    @classmethod
    def load(cls, stage: Path, label_field: str = "category", limit: int = DEFAULT_LIMIT) -> Items:
        items = cls(stage, label_field)
        for shard in sorted(stage.glob(f"*{SHARD_SUFFIX}")):
            for line in read_shard_lines(shard):
                items.total_in_stage += 1
                if len(items.lines) < limit:
                    items._add(line)
        return items

    def _add(self, line: bytes) -> None:
        record = orjson.loads(line)
        i = len(self.lines)
        self.lines.append(line)
        record_id = str(record.get("id"))
        self.ids.append(record_id)
        self.position[record_id] = i
        label = get_field(record, self.label_field)
        self.labels.append(None if label is None else str(label))
        self.sources.append(None if record.get("source") is None else str(record["source"]))
        self.splits.append(None if record.get("split") is None else str(record["split"]))
        self.tags.append(tuple(str(t) for t in record.get("tags") or ()))
        for name, value in (record.get("scores") or {}).items():
            column = self.scores.setdefault(str(name), [None] * i)
            column.append(_number(value))
        for column in self.scores.values():
            if len(column) < i + 1:
                column.append(None)

    def __len__(self) -> int:
        return len(self.lines)

    def record(self, i: int) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.lines[i])
        return data

    def facets(self) -> dict[str, Any]:
        def values(column: list[str | None]) -> list[str]:
            return sorted({v for v in column if v is not None})

        return {"labels": values(self.labels), "sources": values(self.sources), "splits": values(self.splits),
                "tags": sorted({t for ts in self.tags for t in ts}), "scores": sorted(self.scores)}

    def view(self, i: int) -> dict[str, Any]:
        """One record for the page: the record, its prompt/answer/label, and the LLM's verdicts with reasoning."""
        record = self.record(i)
        verdicts = []
        meta = record.get("meta")
        for key, value in (meta.items() if isinstance(meta, dict) else ()):
            if isinstance(value, dict) and "reasoning" in value:
                verdicts.append({"field": f"meta.{key}", **value})
        return {"id": self.ids[i], "index": i, "record": record, "prompt": prompt_text(record),
                "answer": answer_text(record), "label": self.labels[i], "verdicts": verdicts}

    def matches(self, i: int, query: dict[str, str], status_of: dict[str, str]) -> bool:
        """Whether record ``i`` passes the page's filters (label, source, split, tag, status, score range, text)."""
        if (v := query.get("label")) and self.labels[i] != v:
            return False
        if (v := query.get("source")) and self.sources[i] != v:
            return False
        if (v := query.get("split")) and self.splits[i] != v:
            return False
        if (v := query.get("tag")) and v not in self.tags[i]:
            return False
        if v := query.get("status"):
            status = status_of.get(self.ids[i], "unreviewed")
            if status != v:
                return False
        if name := query.get("score"):
            value = self.scores.get(name, [None] * len(self))[i]
            lo, hi = query.get("min"), query.get("max")
            if value is None or (lo and value < float(lo)) or (hi and value > float(hi)):
                return False
        if text := query.get("q", "").strip().lower():
            if _bytes_searchable(text) and text.encode() not in self.lines[i].lower():
                return False
            record = self.record(i)
            haystack = (self.ids[i] + "\n" + prompt_text(record) + "\n" + answer_text(record)).lower()
            if text not in haystack:
                return False
        return True


def _bytes_searchable(text: str) -> bool:
    """Whether ``text`` appears in a stored JSON line as its own UTF-8 bytes whenever the record's text holds
    it (ignoring case): no character JSON escapes, and no non-ASCII letter with case (bytes ``lower()`` only
    folds ASCII). Then a byte search rules out most records without decoding them."""
    return all(ch not in '"\\' and ord(ch) >= 32 and (ch.isascii() or ch.upper() == ch) for ch in text)


def load_clusters(run_dir: Path) -> list[dict[str, Any]]:
    """The dedup clusters of every finished dedup stage (``clusters.json``), largest first."""
    out = []
    for stage in finished_stages(run_dir):
        path = stage / "clusters.json"
        if path.is_file():
            for c in json.loads(path.read_text(encoding="utf-8")):
                out.append({"stage": stage.name, "key": f"{stage.name}:{c.get('kept')}", **c})
    return out
