"""The ``trim_to_multiple`` step: drop just enough records that each split's count is a multiple of k."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from datamill.records import Record, get_path
from datamill.selectors import FieldPath
from datamill.steps.base import Drop, GlobalStep, Params, ShardSignatures
from datamill.steps.selection import SEED_MAX, KeySignature, collect, group_key, group_report, rank_key, ranks


class TrimParams(Params):
    k: int = Field(ge=1, description="every group's count must be divisible by k (e.g. the batch size)")
    by: FieldPath | None = Field(
        default="split", description="field path whose groups are trimmed separately; null: the whole set"
    )
    drop: Literal["last", "random"] = Field(
        default="last", description="which records go: the last in input order, or a seeded random choice"
    )
    seed: int = Field(default=0, ge=0, le=SEED_MAX, description="with drop: random, changes which records go")


class TrimToMultiple(GlobalStep[TrimParams, KeySignature, np.ndarray]):
    """Drop the fewest records (fewer than ``k`` per group) so every group's count is divisible by ``k``.

    For trainers that need whole batches or an even spread over devices (e.g. multiples of 8). By
    default each value of ``split`` is trimmed on its own, so train and test are both whole multiples;
    records without a ``split`` field form one group, so before a ``split`` step the whole set is
    trimmed. ``drop: last`` (default) removes the records at the end of the input, which is
    predictable and keeps the earlier ones; ``drop: random`` removes the records with the largest
    seeded random keys from (seed, id), independent of sharding. Reads ``id`` and ``by``; writes
    nothing; drop reason ``trim_to_multiple``.
    """

    name: ClassVar[str] = "trim_to_multiple"
    Params = TrimParams
    reads: ClassVar[tuple[str, ...]] = ("id", "split")

    def __init__(self, params: TrimParams) -> None:
        super().__init__(params)
        self._report: dict[str, Any] = {}

    def signature(self, record: Record) -> KeySignature:
        by = self.params.by
        group = group_key(get_path(record, by)) if by is not None else ""
        key = rank_key(self.params.seed, self.name, record.get("id")) if self.params.drop == "random" else 0
        return key, group

    def reduce(self, shards: Iterator[ShardSignatures[KeySignature]]) -> dict[str, np.ndarray]:
        c = collect(shards)
        sizes = c.sizes.astype(np.int64)
        quota = sizes - sizes % self.params.k
        keep = ranks(c, by_key=self.params.drop == "random") < quota[c.codes]
        self._report = {"seen": len(keep), "kept": int(keep.sum())}
        if self.params.by is not None:
            self._report.update(group_report(c.groups, sizes.tolist(), quota.tolist()))
        return c.per_shard(keep)

    def apply(self, record: Record, index: int, plan: np.ndarray) -> Record | Drop:
        return record if plan[index] else Drop("trim_to_multiple")

    def report(self) -> dict[str, Any]:
        return self._report
