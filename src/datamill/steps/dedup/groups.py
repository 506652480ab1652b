"""From duplicate groups to survivors: per-shard plans, dropped details, cluster tables and the report.

Every dedup step collects the same bookkeeping per record (:class:`Members`: id, source, survivor
priority, a short text preview), finds groups its own way (hash runs, LSH, an eps-graph), and hands the
component labels to :func:`resolve`, which picks each group's survivor under the ``keep:`` policy and
says, for every other member, which record kept its place and how similar they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datamill.steps.dedup.strings import StringColumn, categories, encode

#: apply-side plan: local index in the shard -> (kept id, similarity, cluster number)
DropPlan = dict[int, tuple[str, float, int]]
PREVIEW_CHARS = 120
#: characters of a record's text a worker keeps for its preview (whitespace collapsing needs some slack)
PREVIEW_KEEP = PREVIEW_CHARS + 40
#: groups listed in ``stats.json`` (the full table of the N largest goes to ``clusters.json``)
REPORT_GROUPS = 10


def preview(text: str) -> str:
    """The first :data:`PREVIEW_CHARS` characters on one line, for people reading clusters."""
    head = " ".join(text[: 4 * PREVIEW_CHARS].split())  # a prefix of the collapsed text: enough when long
    flat = head if len(head) > PREVIEW_CHARS or len(text) <= 4 * PREVIEW_CHARS else " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


@dataclass
class Members:
    """Per-record bookkeeping of a dedup reduce, in global order (shards in order, records in order).

    ``previews`` holds each record's text prefix (see :func:`preview_prefix`); :meth:`preview` turns
    the few that are shown into one-line previews.
    """

    ids: StringColumn = field(default_factory=StringColumn)
    previews: StringColumn = field(default_factory=StringColumn)
    source_names: list[str] = field(default_factory=list)
    _source_index: dict[str, int] = field(default_factory=dict)
    _sources: list[np.ndarray] = field(default_factory=list)
    _priority: list[np.ndarray] = field(default_factory=list)

    def add(self, shard: str, ids: Sequence[str], sources: Sequence[str], priority: Sequence[float],
            previews: Sequence[str]) -> None:
        names, codes = categories(sources)
        self.add_columns(shard, encode(ids), names, codes, np.asarray(priority, dtype=np.float64),
                         encode(previews))

    def add_columns(self, shard: str, ids: tuple[bytes, np.ndarray], source_names: Sequence[str],
                    source_codes: np.ndarray, priority: np.ndarray, previews: tuple[bytes, np.ndarray]) -> None:
        """One shard in columns, as a worker packed it: ids and previews :func:`encode`-d, sources as codes
        into the shard's own ``source_names``."""
        self.ids.add_encoded(shard, *ids)
        self.previews.add_encoded(shard, *previews)
        mapping = np.asarray([self._source_index.setdefault(s, len(self._source_index)) for s in source_names],
                             dtype=np.int32)
        for name in list(self._source_index)[len(self.source_names):]:
            self.source_names.append(name)
        self._sources.append(mapping[source_codes] if len(source_codes) else np.zeros(0, dtype=np.int32))
        self._priority.append(np.asarray(priority, dtype=np.float64))

    @property
    def n(self) -> int:
        return int(self.ids.offsets[-1])

    def sources(self) -> np.ndarray:
        return np.concatenate(self._sources) if self._sources else np.zeros(0, dtype=np.int32)

    def priority(self) -> np.ndarray:
        return np.concatenate(self._priority) if self._priority else np.zeros(0, dtype=np.float64)

    def preview(self, positions: np.ndarray | Sequence[int]) -> list[str]:
        """One-line previews of the records at these positions."""
        return [preview(t) for t in self.previews.get_many(positions)]


def preview_prefix(text: str) -> str:
    """What a worker keeps of a record's text for a later :func:`preview`: a prefix, cut without any
    other string work (previews are made in the reduce, only for the records that are shown)."""
    return text[:PREVIEW_KEEP]


@dataclass
class Grouping:
    """What a dedup method found: bookkeeping, a group label per record, and how to measure a pair."""

    members: Members
    labels: np.ndarray
    similarity: Callable[[np.ndarray, np.ndarray], np.ndarray]
    extra: dict[str, Any]


@dataclass
class LabelRows:
    """The ``labels.csv`` rows as columns: row ``r`` is ``(ids[order[r]], cluster[r], ids[kept[r]], sim[r])``."""

    ids: list[str]
    order: np.ndarray
    cluster: np.ndarray
    kept: np.ndarray
    similarity: np.ndarray

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[tuple[str, int, str, float]]:
        ids = self.ids
        for i, c, k, sim in zip(self.order.tolist(), self.cluster.tolist(), self.kept.tolist(),
                                self.similarity.tolist(), strict=True):
            yield ids[i], c, ids[k], sim

    def csv_lines(self) -> str:
        """The rows as CSV lines: joined f-strings when no id needs quoting (~4x the csv module), else
        the csv module."""
        joined = "".join(self.ids)
        if "," in joined or '"' in joined or "\r" in joined or "\n" in joined:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(self)
            return buf.getvalue()
        return "".join([f"{rid},{cluster},{kept},{sim!r}\n" for rid, cluster, kept, sim in self])


@dataclass
class Resolution:
    """What a dedup reduce decided."""

    plans: dict[str, DropPlan]
    report: dict[str, Any]
    clusters: list[dict[str, Any]]  # the N largest, members included
    labels: LabelRows  # (id, cluster, kept id, similarity) of every grouped record, in labels.csv order
    summary: list[dict[str, Any]]  # per source: before, after, removed


def resolve(members: Members, labels: np.ndarray, similarity: Callable[[np.ndarray, np.ndarray], np.ndarray],
            reason: str, top: int, extra_report: dict[str, Any] | None = None) -> Resolution:
    """Pick survivors of the groups given by ``labels`` (equal label = same group) and plan the drops.

    ``similarity(a, b)`` returns the similarity of the records at global positions ``a[i]`` and ``b[i]``.
    Groups are numbered 0, 1, ... by size (largest first), then by their survivor's position. All of it
    is array work over the grouped records; Python touches each of them once, to build its plan entry
    and its ``labels.csv`` row.
    """
    n = members.n
    labels = np.asarray(labels, dtype=np.int64)
    sizes = np.bincount(labels, minlength=n) if n else np.zeros(0, dtype=np.int64)
    grouped = np.flatnonzero(sizes[labels] > 1) if n else np.zeros(0, dtype=np.int64)  # ascending positions
    prio = members.priority()
    glabel = labels[grouped]
    order = np.lexsort((grouped, prio[grouped], glabel))
    first = np.ones(len(order), dtype=bool)
    first[1:] = glabel[order][1:] != glabel[order][:-1]
    kept_pos = grouped[order[first]]  # one per group
    kept_of = np.full(n, -1, dtype=np.int64)
    kept_of[labels[kept_pos]] = kept_pos
    g_kept = kept_of[glabel]  # the survivor of each grouped record's group
    is_dup = g_kept != grouped
    sim = np.ones(len(grouped), dtype=np.float64)
    if is_dup.any():
        sim[is_dup] = np.round(similarity(grouped[is_dup], g_kept[is_dup]).astype(np.float64), 4)

    group_sizes = sizes[labels[kept_pos]]
    rank_order = np.lexsort((kept_pos, -group_sizes))
    cluster_no = np.full(n, -1, dtype=np.int64)
    cluster_no[labels[kept_pos[rank_order]]] = np.arange(len(kept_pos))
    g_cluster = cluster_no[glabel]

    # every grouped record's id, once; a survivor is grouped too, so kept ids index the same list
    g_ids = members.ids.get_many(grouped)
    g_kept_idx = np.searchsorted(grouped, g_kept)

    plans: dict[str, DropPlan] = {name: {} for name in members.ids.names}
    starts = members.ids.offsets
    dup_idx = np.flatnonzero(is_dup)
    dup = grouped[dup_idx]
    bounds = np.searchsorted(dup, starts)
    for s, name in enumerate(members.ids.names):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        if lo == hi:
            continue
        idx = dup_idx[lo:hi]
        entries = zip([g_ids[k] for k in g_kept_idx[idx].tolist()], sim[idx].tolist(), g_cluster[idx].tolist(),
                      strict=True)
        plans[name] = dict(zip((dup[lo:hi] - int(starts[s])).tolist(), entries, strict=True))

    sources = members.sources()
    names = members.source_names
    before = np.bincount(sources, minlength=len(names))
    removed = np.bincount(sources[dup], minlength=len(names)) if len(dup) else np.zeros(len(names), np.int64)
    summary = [{"source": names[i], "before": int(before[i]), "after": int(before[i] - removed[i]),
                "removed": int(removed[i])} for i in range(len(names))]

    # labels.csv order: by cluster, the survivor first, then by similarity (descending), then position
    row_order = np.lexsort((grouped, -sim, is_dup, g_cluster))
    label_rows = LabelRows(g_ids, row_order, g_cluster[row_order], g_kept_idx[row_order], sim[row_order])

    clusters: list[dict[str, Any]] = []
    shown_end = int(np.searchsorted(g_cluster[row_order], min(top, len(kept_pos))))
    shown = row_order[:shown_end]  # the members of the ``top`` largest groups, in labels.csv order
    shown_previews = members.preview(grouped[shown])
    shown_sources = sources[grouped[shown]].tolist()
    run_bounds = np.searchsorted(g_cluster[shown], np.arange(min(top, len(kept_pos)) + 1))
    for rank in range(len(run_bounds) - 1):
        lo, hi = int(run_bounds[rank]), int(run_bounds[rank + 1])
        rows = [{"id": g_ids[i], "source": names[shown_sources[j]], "kept": not bool(is_dup[i]),
                 "similarity": float(sim[i]), "preview": shown_previews[j]}
                for j, i in zip(range(lo, hi), shown[lo:hi].tolist(), strict=True)]
        clusters.append({"cluster": rank, "size": len(rows), "kept": rows[0]["id"], "members": rows})

    report: dict[str, Any] = {
        "seen": n,
        "groups": len(kept_pos),
        "duplicates_dropped": len(dup),
        "reason": reason,
        "largest_groups": [{"cluster": c["cluster"], "kept": c["kept"], "size": c["size"],
                            "preview": c["members"][0]["preview"]} for c in clusters[:REPORT_GROUPS]],
        "by_source": summary,
    }
    if len(dup):
        dup_sims = sim[dup_idx]
        report["similarity"] = {"min": float(dup_sims.min()), "mean": round(float(dup_sims.mean()), 4)}
    report.update(extra_report or {})
    return Resolution(plans, report, clusters, label_rows, summary)
