"""The ``sample`` step: a seeded random subset, overall or per group, independent of sharding."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, model_validator

from datamill.records import Record, get_path
from datamill.selectors import FieldPath
from datamill.steps.base import Drop, GlobalStep, Params, ShardSignatures
from datamill.steps.selection import (
    SEED_MAX,
    KeySignature,
    capped_allocation,
    check_groups,
    collect,
    exact_fraction,
    group_report,
    largest_remainder,
    rank_key,
    ranks,
)
from datamill.steps.selection import group_key as to_group_key


class SampleParams(Params):
    n: int | None = Field(default=None, ge=0, description="records to keep in total (all if there are fewer)")
    fraction: float | None = Field(
        default=None, gt=0, le=1, description="share of records to keep, rounded to the nearest whole count"
    )
    seed: int = Field(default=0, ge=0, le=SEED_MAX, description="changes which records are picked")
    by: FieldPath | None = Field(
        default=None, description="field path to group by (e.g. category); counts follow group sizes"
    )
    per_group_cap: int | None = Field(
        default=None, ge=1, description="keep at most this many records per group (needs 'by')"
    )
    targets: dict[str, int] | None = Field(
        default=None,
        description="explicit count per group (needs 'by'): {math: 500, code: 300}; with 'n', the groups not "
        "listed share what is left in their observed proportions, without 'n' they are dropped",
    )
    caps: dict[str, int] | None = Field(
        default=None, description="upper bound per named group (needs 'by'), on top of 'per_group_cap'"
    )

    @model_validator(mode="after")
    def _one_size(self) -> SampleParams:
        if self.n is not None and self.fraction is not None:
            raise ValueError("give either 'n' or 'fraction', not both")
        if self.n is None and self.fraction is None and self.per_group_cap is None and self.targets is None \
                and self.caps is None:
            raise ValueError("give 'n', 'fraction', 'targets', 'caps' or 'per_group_cap'")
        for name in ("per_group_cap", "targets", "caps"):
            if getattr(self, name) is not None and self.by is None:
                raise ValueError(f"'{name}' needs 'by' (without groups, use 'n')")
        if self.targets is not None and self.fraction is not None:
            raise ValueError("give either 'targets' or 'fraction', not both")
        for name in ("targets", "caps"):
            if any(v < 0 for v in (getattr(self, name) or {}).values()):
                raise ValueError(f"'{name}' counts must be >= 0")
        if self.targets is not None and self.n is not None and sum(self.targets.values()) > self.n:
            raise ValueError("the 'targets' add up to more than 'n'")
        return self


class Sample(GlobalStep[SampleParams, KeySignature, np.ndarray]):
    """Keep a seeded random subset: ``{n: 1000}``, ``{fraction: 0.1}``, ``{n: 5000, by: category}``.

    Every record gets a random key from (seed, record id); the records with the smallest keys are kept.
    The same seed and input therefore give the same subset, byte for byte, whatever the shard size or
    worker count; without ``by``, a larger ``n`` keeps a superset of a smaller one.

    * ``n``: exactly ``min(n, total)`` records; ``fraction``: ``round(fraction * total)`` records.
    * ``by``: the count is split over groups in their observed proportions by largest-remainder
      rounding, so group counts are within one of exact and the total is exact.
    * ``per_group_cap``: no group keeps more than this. With ``n``, what capped groups cannot take
      goes to the other groups (a balanced sample of ``n``); with ``fraction`` it is simply removed;
      alone it keeps up to the cap of every group.
    * ``caps``: the same bound for named groups only (``{other: 100}``), combined with ``per_group_cap``.
    * ``targets``: an explicit count per named group (``{math: 500}``; a group smaller than its target
      keeps all it has). With ``n`` the unnamed groups share ``n - sum(targets)`` in proportion (caps
      applied); without ``n`` the unnamed groups are dropped.

    Reads ``id`` and the ``by`` field (a missing value is its own group, ``null``); writes nothing.
    Dropped records get reason ``sample``. The report lists each group's count before and after.
    """

    name: ClassVar[str] = "sample"
    Params = SampleParams
    reads: ClassVar[tuple[str, ...]] = ("id",)

    def __init__(self, params: SampleParams) -> None:
        super().__init__(params)
        self._report: dict[str, Any] = {}

    def max_records_out(self, records_in: int) -> int:
        p = self.params
        if p.targets is not None and p.n is None:
            return min(records_in, sum(p.targets.values()))
        if p.n is not None:
            return min(records_in, p.n)
        if p.fraction is not None:
            return int(exact_fraction(p.fraction) * records_in + Fraction(1, 2))
        return records_in  # caps per group: the groups are not known before the run

    def signature(self, record: Record) -> KeySignature:
        by = self.params.by
        group = to_group_key(get_path(record, by)) if by is not None else ""
        return rank_key(self.params.seed, self.name, record.get("id")), group

    def quotas(self, sizes: list[int], groups: list[str] | None = None) -> list[int]:
        """How many records each group keeps (``groups``: the group names, in the order of ``sizes``)."""
        p = self.params
        total = sum(sizes)
        names = groups if groups is not None else [""] * len(sizes)
        caps = [min(s, p.per_group_cap) if p.per_group_cap is not None else s for s in sizes]
        if p.caps:
            caps = [min(c, p.caps.get(g, c)) for c, g in zip(caps, names, strict=True)]
        if p.targets is not None:
            fixed = [min(p.targets[g], c) if g in p.targets else None for g, c in zip(names, caps, strict=True)]
            if p.n is None:
                return [f or 0 for f in fixed]
            free = [i for i, f in enumerate(fixed) if f is None]
            rest = capped_allocation(p.n - sum(f or 0 for f in fixed), [sizes[i] for i in free],
                                     [caps[i] for i in free])
            out = [f or 0 for f in fixed]
            for i, q in zip(free, rest, strict=True):
                out[i] = q
            return out
        if p.n is not None:
            return capped_allocation(p.n, sizes, caps)
        if p.fraction is not None:
            target = int(exact_fraction(p.fraction) * total + Fraction(1, 2))
            return [min(q, c) for q, c in zip(largest_remainder(target, sizes), caps, strict=True)]
        return caps

    def reduce(self, shards: Iterator[ShardSignatures[KeySignature]]) -> dict[str, np.ndarray]:
        c = collect(shards)
        check_groups(self.name, "by", self.params.by, c)
        sizes = [int(s) for s in c.sizes]
        quota = np.asarray(self.quotas(sizes, c.groups), dtype=np.int64)
        keep = ranks(c) < quota[c.codes] if len(c.codes) else np.zeros(0, dtype=bool)
        self._report = {"seen": len(keep), "kept": int(keep.sum())}
        if self.params.by is not None:
            self._report.update(group_report(c.groups, sizes, quota.tolist()))
        return c.per_shard(keep)

    def apply(self, record: Record, index: int, plan: np.ndarray) -> Record | Drop:
        return record if plan[index] else Drop("sample")

    def report(self) -> dict[str, Any]:
        return self._report
