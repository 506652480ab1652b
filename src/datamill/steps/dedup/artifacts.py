"""Files for people, written next to a dedup stage: ``clusters.json``, ``labels.csv``, ``summary.csv``.

* ``clusters.json``: the N largest groups, each with its survivor and every member's id, source,
  similarity to the survivor and a text preview (seed 001's top-500 clusters, to eyeball and tune).
* ``labels.csv``: ``id,cluster,kept_id,similarity`` for every record that is in a group of two or more
  (cluster numbers: 0 is the largest group); records not listed are unique.
* ``summary.csv``: ``source,before,after,removed_<reason>`` per input source.
* ``summary_all.csv``: the same table over this and every earlier dedup step of the run (read from
  their ``summary.csv`` next to them): ``before`` at the first dedup step, one ``removed_by_<stage>``
  column per dedup step, ``removed_by_other_steps`` (filters between them), ``after`` this step.
  The last dedup step's file is the run's per-source dedup summary (seed 001's summary.csv).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from datamill.steps.base import Artifacts
from datamill.steps.dedup.groups import Resolution


def write_artifacts(artifacts: Artifacts, resolution: Resolution, reason: str) -> list[str]:
    """Write the files for people; returns their names."""
    return [
        artifacts.write_text("clusters.json", json.dumps(resolution.clusters, ensure_ascii=False, indent=1) + "\n"),
        artifacts.write_text("labels.csv", "id,cluster,kept_id,similarity\n" + resolution.labels.csv_lines()),
        *write_summaries(artifacts, summary_csv(resolution.summary, reason)),
    ]


def write_summaries(artifacts: Artifacts, summary: str) -> list[str]:
    """This step's ``summary.csv`` and the run-wide ``summary_all.csv`` built from it and the earlier ones."""
    written = artifacts.write_text("summary.csv", summary)
    return [written, artifacts.write_text("summary_all.csv", summary_all_csv(artifacts))]


def _read_summary(path: Path) -> dict[str, tuple[int, int]]:
    with open(path, encoding="utf-8") as fh:
        return {row["source"]: (int(row["before"]), int(row["after"])) for row in csv.DictReader(fh)
                if row["source"] != "TOTAL"}


def summary_all_csv(artifacts: Artifacts) -> str:
    """Per source, across the run's dedup stages up to this one (finished earlier ones + this); this step's
    ``summary.csv`` must be written first."""
    stages = [*artifacts.earlier_files("summary.csv"), (artifacts.folder.name, artifacts.path("summary.csv"))]
    tables = [(name, _read_summary(path)) for name, path in stages]
    sources = list(dict.fromkeys(src for _, table in tables for src in table))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["source", "before", *(f"removed_by_{name}" for name, _ in tables), "removed_by_other_steps", "after"])
    total = [0] * (len(tables) + 3)
    for src in sources:
        counts = [table.get(src, (0, 0)) for _, table in tables]
        removed = [b - a for b, a in counts]
        other = sum(counts[i][1] - counts[i + 1][0] for i in range(len(counts) - 1))
        values = [counts[0][0], *removed, other, counts[-1][1]]
        w.writerow([src, *values])
        total = [t + v for t, v in zip(total, values, strict=True)]
    w.writerow(["TOTAL", *total])
    return buf.getvalue()


def summary_csv(rows: list[dict[str, object]], reason: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["source", "before", "after", f"removed_{reason}"])
    total = [0, 0, 0]
    for row in rows:
        values = [int(str(row["before"])), int(str(row["after"])), int(str(row["removed"]))]
        w.writerow([row["source"], *values])
        total = [t + v for t, v in zip(total, values, strict=True)]
    w.writerow(["TOTAL", *total])
    return buf.getvalue()
