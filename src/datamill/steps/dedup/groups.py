"""From duplicate groups to survivors: per-shard plans, dropped details, cluster tables and the report.

Every dedup step collects the same bookkeeping per record (:class:`Members`: id, source, survivor
priority, a short text preview), finds groups its own way (hash runs, LSH, an eps-graph), and hands the
component labels to :func:`resolve`, which picks each group's survivor under the ``keep:`` policy and
says, for every other member, which record kept its place and how similar they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datamill.steps.dedup_exact import _IdStore as IdStore

#: apply-side plan: local index in the shard -> (kept id, similarity, cluster number)
DropPlan = dict[int, tuple[str, float, int]]
PREVIEW_CHARS = 120
#: groups listed in ``stats.json`` (the full table of the N largest goes to ``clusters.json``)
REPORT_GROUPS = 10


def preview(text: str) -> str:
    """The first :data:`PREVIEW_CHARS` characters on one line, for people reading clusters."""
    head = " ".join(text[: 4 * PREVIEW_CHARS].split())  # a prefix of the collapsed text: enough when long
    flat = head if len(head) > PREVIEW_CHARS or len(text) <= 4 * PREVIEW_CHARS else " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


@dataclass
class Members:
    """Per-record bookkeeping of a dedup reduce, in global order (shards in order, records in order)."""

    ids: IdStore = field(default_factory=IdStore)
    source_names: list[str] = field(default_factory=list)
    _source_index: dict[str, int] = field(default_factory=dict)
    _sources: list[np.ndarray] = field(default_factory=list)
    _priority: list[np.ndarray] = field(default_factory=list)
    previews: list[str] = field(default_factory=list)

    def add(self, shard: str, ids: Sequence[str], sources: Sequence[str], priority: Sequence[float],
            previews: Sequence[str]) -> None:
        self.ids.add(shard, list(ids))
        codes = [self._source_index.setdefault(s, len(self._source_index)) for s in sources]
        for name in list(self._source_index)[len(self.source_names):]:
            self.source_names.append(name)
        self._sources.append(np.asarray(codes, dtype=np.int32))
        self._priority.append(np.asarray(priority, dtype=np.float64))
        self.previews.extend(previews)

    @property
    def n(self) -> int:
        return int(self.ids.offsets[-1])

    def sources(self) -> np.ndarray:
        return np.concatenate(self._sources) if self._sources else np.zeros(0, dtype=np.int32)

    def priority(self) -> np.ndarray:
        return np.concatenate(self._priority) if self._priority else np.zeros(0, dtype=np.float64)


@dataclass
class Grouping:
    """What a dedup method found: bookkeeping, a group label per record, and how to measure a pair."""

    members: Members
    labels: np.ndarray
    similarity: Callable[[np.ndarray, np.ndarray], np.ndarray]
    extra: dict[str, Any]


@dataclass
class Resolution:
    """What a dedup reduce decided."""

    plans: dict[str, DropPlan]
    report: dict[str, Any]
    clusters: list[dict[str, Any]]  # the N largest, members included
    labels: list[tuple[str, int, str, float]]  # (id, cluster, kept id, similarity) of every grouped record
    summary: list[dict[str, Any]]  # per source: before, after, removed


def resolve(members: Members, labels: np.ndarray, similarity: Callable[[np.ndarray, np.ndarray], np.ndarray],
            reason: str, top: int, extra_report: dict[str, Any] | None = None) -> Resolution:
    """Pick survivors of the groups given by ``labels`` (equal label = same group) and plan the drops.

    ``similarity(a, b)`` returns the similarity of the records at global positions ``a[i]`` and ``b[i]``.
    Groups are numbered 0, 1, ... by size (largest first), then by their survivor's position.
    """
    n = members.n
    labels = np.asarray(labels, dtype=np.int64)
    sizes = np.bincount(labels, minlength=n) if n else np.zeros(0, dtype=np.int64)
    grouped = np.flatnonzero(sizes[labels] > 1) if n else np.zeros(0, dtype=np.int64)
    prio = members.priority()
    order = grouped[np.lexsort((grouped, prio[grouped], labels[grouped]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    kept_pos = order[first]  # one per group
    kept_of = np.full(n, -1, dtype=np.int64)
    kept_of[labels[kept_pos]] = kept_pos
    group_kept = kept_of[labels[grouped]]
    dup = grouped[group_kept != grouped]
    dup_kept = kept_of[labels[dup]]
    sims = np.round(similarity(dup, dup_kept).astype(np.float64), 4) if len(dup) else np.zeros(0)

    group_sizes = sizes[labels[kept_pos]]
    rank_order = np.lexsort((kept_pos, -group_sizes))
    cluster_no = np.full(n, -1, dtype=np.int64)
    cluster_no[labels[kept_pos[rank_order]]] = np.arange(len(kept_pos))

    needed = np.unique(np.concatenate([grouped, kept_pos]))
    id_of = dict(zip(needed.tolist(), members.ids.get_many(needed), strict=True))
    plans: dict[str, DropPlan] = {name: {} for name in members.ids.names}
    starts = members.ids.offsets
    shard_of = np.searchsorted(starts, dup, side="right") - 1
    sim_of: dict[int, float] = {}
    for pos, kept, s, sim in zip(dup.tolist(), dup_kept.tolist(), shard_of.tolist(), sims.tolist(), strict=True):
        plans[members.ids.names[s]][pos - int(starts[s])] = (id_of[kept], sim, int(cluster_no[labels[pos]]))
        sim_of[pos] = sim

    sources = members.sources()
    names = members.source_names
    before = np.bincount(sources, minlength=len(names))
    removed = np.bincount(sources[dup], minlength=len(names)) if len(dup) else np.zeros(len(names), np.int64)
    summary = [{"source": names[i], "before": int(before[i]), "after": int(before[i] - removed[i]),
                "removed": int(removed[i])} for i in range(len(names))]

    clusters: list[dict[str, Any]] = []
    for rank, k in enumerate(kept_pos[rank_order][:top].tolist()):
        member_pos = grouped[labels[grouped] == labels[k]]
        rows = [{"id": id_of[p], "source": names[sources[p]], "kept": p == k,
                 "similarity": 1.0 if p == k else sim_of[p], "preview": members.previews[p]}
                for p in member_pos.tolist()]
        rows.sort(key=lambda r: (not r["kept"], -r["similarity"]))
        clusters.append({"cluster": rank, "size": len(rows), "kept": id_of[k], "members": rows})

    label_rows = [(id_of[p], int(cluster_no[labels[p]]), id_of[int(kept_of[labels[p]])], sim_of.get(p, 1.0))
                  for p in grouped.tolist()]
    label_rows.sort(key=lambda r: (r[1], r[2] != r[0], -r[3]))
    report: dict[str, Any] = {
        "seen": n,
        "groups": len(kept_pos),
        "duplicates_dropped": len(dup),
        "reason": reason,
        "largest_groups": [{"cluster": c["cluster"], "kept": c["kept"], "size": c["size"],
                            "preview": c["members"][0]["preview"]} for c in clusters[:REPORT_GROUPS]],
        "by_source": summary,
    }
    if len(sims):
        report["similarity"] = {"min": float(sims.min()), "mean": round(float(sims.mean()), 4)}
    report.update(extra_report or {})
    return Resolution(plans, report, clusters, label_rows, summary)
