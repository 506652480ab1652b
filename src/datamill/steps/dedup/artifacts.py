"""Files for people, written next to a dedup stage: ``clusters.json``, ``labels.csv``, ``summary.csv``.

* ``clusters.json``: the N largest groups, each with its survivor and every member's id, source,
  similarity to the survivor and a text preview (seed 001's top-500 clusters, to eyeball and tune).
* ``labels.csv``: ``id,cluster,kept_id,similarity`` for every record that is in a group of two or more
  (cluster numbers: 0 is the largest group); records not listed are unique.
* ``summary.csv``: ``source,before,after,removed_<reason>`` per input source.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from datamill.exec.workdir import write_text_atomic
from datamill.steps.dedup.groups import Resolution


def write_artifacts(stage_dir: Path, resolution: Resolution, reason: str) -> list[str]:
    """Write the three files into ``stage_dir``; returns their names."""
    write_text_atomic(stage_dir / "clusters.json",
                      json.dumps(resolution.clusters, ensure_ascii=False, indent=1) + "\n")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "cluster", "kept_id", "similarity"])
    w.writerows(resolution.labels)
    write_text_atomic(stage_dir / "labels.csv", buf.getvalue())
    write_text_atomic(stage_dir / "summary.csv", summary_csv(resolution.summary, reason))
    return ["clusters.json", "labels.csv", "summary.csv"]


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
