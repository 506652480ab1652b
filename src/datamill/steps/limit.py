"""The ``limit`` step: keep the first ``n`` records in input order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import Field

from datamill.records import Record
from datamill.steps.base import Drop, GlobalStep, Params, ShardSignatures


class LimitParams(Params):
    n: int = Field(ge=0, description="how many records to keep, counted from the start of the input")


class Limit(GlobalStep[LimitParams, None, int]):
    """Keep the first ``n`` records in input order (inputs in recipe order, rows in file order).

    Useful for trial runs and for capping a source. Reads and writes nothing; the rest are dropped
    with reason ``limit``. Input order, not a random choice: for a random subset use ``sample``. It
    is a global step because only the reduce phase knows how many records the earlier shards hold; the
    plan for each shard is one number, how many of its records to keep.
    """

    name: ClassVar[str] = "limit"
    Params = LimitParams

    def __init__(self, params: LimitParams) -> None:
        super().__init__(params)
        self._seen = 0
        self._kept = 0

    def max_records_out(self, records_in: int) -> int:
        return min(records_in, self.params.n)

    def signature(self, record: Record) -> None:
        return None

    def reduce(self, shards: Iterator[ShardSignatures[None]]) -> dict[str, int]:
        left = self.params.n
        plans: dict[str, int] = {}
        seen = 0
        for shard in shards:
            size = len(shard.signatures)
            seen += size
            plans[shard.shard] = min(size, left)
            left -= plans[shard.shard]
        self._seen, self._kept = seen, self.params.n - left
        return plans

    def apply(self, record: Record, index: int, plan: int) -> Record | Drop:
        return record if index < plan else Drop("limit")

    def report(self) -> dict[str, Any]:
        return {"seen": self._seen, "kept": self._kept}
