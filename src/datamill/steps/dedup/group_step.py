"""What the group-finding dedup steps (``dedup_minhash``, ``dedup_semantic``) share.

Each finds its groups its own way (:meth:`GroupDedup.groups`: LSH + verification, or an eps-graph over
embeddings); the rest is one piece: survivors and per-shard plans (:func:`.groups.resolve`), the files
for people next to the stage, and dropping by position only (filter-only: the engine never decodes
the records in the apply phase).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

from datamill.steps.base import Drop, GlobalStep, ShardSignatures
from datamill.steps.dedup.artifacts import write_artifacts
from datamill.steps.dedup.groups import DropPlan, Grouping, resolve
from datamill.steps.dedup.params import DedupParams

DP = TypeVar("DP", bound=DedupParams)
S = TypeVar("S")


class GroupDedup(GlobalStep[DP, S, DropPlan]):
    """Base of dedup steps that drop every member of a group but its survivor, with reason ``reason``.

    Both take ``on`` (what is compared), ``keep`` (which member survives: first, longest, score, source)
    and ``top_clusters`` (how many of the largest groups go to ``clusters.json``).
    """

    reason: ClassVar[str]
    filter_only: ClassVar[bool] = True

    def __init__(self, params: DP) -> None:
        super().__init__(params)
        self._report: dict[str, Any] = {}

    def groups(self, shards: Iterator[ShardSignatures[Any]]) -> Grouping:
        """Every record's bookkeeping, its group label and the pairwise similarity (check_leakage uses it)."""
        raise NotImplementedError

    def reduce(self, shards: Iterator[ShardSignatures[Any]]) -> dict[str, DropPlan]:
        g = self.groups(shards)
        resolution = resolve(g.members, g.labels, g.similarity, self.reason, self.params.top_clusters, g.extra)
        self._report = resolution.report
        if self.context is not None:
            self._report["files"] = write_artifacts(self.context.artifacts, resolution, self.reason)
        return resolution.plans

    def decide(self, index: int, plan: DropPlan) -> Drop | None:
        hit = plan.get(index)
        if hit is None:
            return None
        kept, similarity, cluster = hit
        return Drop(self.reason, {"duplicate_of": kept, "similarity": similarity, "cluster": cluster})

    def report(self) -> dict[str, Any]:
        return self._report
