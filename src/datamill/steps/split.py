"""The ``split`` step: assign every record to train/test/... with exact, seeded, shard-independent counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from datamill.records import Record, get_path, set_field
from datamill.selectors import FieldPath, FieldTarget
from datamill.steps.base import Drop, GlobalStep, Params, ShardSignatures
from datamill.steps.selection import (
    REPORT_GROUPS,
    SEED_MAX,
    KeySignature,
    check_groups,
    collect,
    group_key,
    rank_key,
    ranks,
    ratio_weights,
    stratified_allocation,
)

RATIO_TOLERANCE = 1e-6
SplitPlan = tuple[tuple[str, ...], np.ndarray]


class SplitParams(Params):
    ratios: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.9, "test": 0.1},
        description="split name -> share; each > 0, summing to 1",
    )
    seed: int = Field(default=0, ge=0, le=SEED_MAX, description="changes which records go where")
    stratify_by: FieldPath | None = Field(
        default=None, description="field path (e.g. category, meta.task_type) whose every value is split in the "
        "same ratios"
    )
    field: FieldTarget = Field(default="split", description="field path the split name is written to")

    @field_validator("ratios")
    @classmethod
    def _ratios(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("give at least one split, e.g. {train: 0.9, test: 0.1}")
        if len(v) > 255:
            raise ValueError("at most 255 splits")
        for name, ratio in v.items():
            if not name:
                raise ValueError("split names must not be empty")
            if not ratio > 0:
                raise ValueError(f"ratio of '{name}' must be > 0")
        if abs(sum(v.values()) - 1) > RATIO_TOLERANCE:
            raise ValueError(f"ratios must sum to 1, they sum to {sum(v.values()):g}")
        return v


class Split(GlobalStep[SplitParams, KeySignature, SplitPlan]):
    """Write a split name into every record: ``{ratios: {train: 0.9, test: 0.1}, stratify_by: category}``.

    Counts are exact, not expected values: with 1,000 records and 0.9/0.1, test has exactly 100. Each
    record's random key comes from (seed, record id); records are ordered by key and cut into parts
    in the order of the split names sorted alphabetically (so YAML key order does not matter, and
    raising one ratio of a two-way split only moves records into that split). Shard sizes and worker
    counts never change the result.

    With ``stratify_by``, each value of that field (a missing value is its own stratum, ``null``) is
    split separately: every stratum gets the floor or ceiling of its exact share, and the rounding is
    carried across strata so the overall counts stay within one of exact for two- and three-way
    splits, even over many tiny strata.

    Nothing is dropped. Reads ``id`` and ``stratify_by``; writes ``field`` (default ``split``, which
    exporters use to name the files; a non-canonical name such as ``fold`` goes to ``meta``). The
    report gives counts per split and per stratum.
    """

    name: ClassVar[str] = "split"
    Params = SplitParams
    reads: ClassVar[tuple[str, ...]] = ("id",)
    writes: ClassVar[tuple[str, ...]] = ("split",)

    def __init__(self, params: SplitParams) -> None:
        super().__init__(params)
        self._names = tuple(sorted(params.ratios))
        self._weights = ratio_weights([params.ratios[n] for n in self._names])
        self._target = params.field
        self._report: dict[str, Any] = {}

    def signature(self, record: Record) -> KeySignature:
        by = self.params.stratify_by
        stratum = group_key(get_path(record, by)) if by is not None else ""
        return rank_key(self.params.seed, self.name, record.get("id")), stratum

    def reduce(self, shards: Iterator[ShardSignatures[KeySignature]]) -> dict[str, SplitPlan]:
        c = collect(shards)
        check_groups(self.name, "stratify_by", self.params.stratify_by, c)
        sizes = [int(s) for s in c.sizes]
        allocation = stratified_allocation(sizes, self._weights)
        table = np.asarray(allocation, dtype=np.int64).reshape(-1, len(self._names))
        bounds = np.cumsum(table, axis=1)  # per stratum: end rank of each part
        rank = ranks(c)
        which = np.zeros(len(rank), dtype=np.uint8)
        for part in range(len(self._names) - 1):
            which += rank >= bounds[c.codes, part]
        self._report = {"counts": dict(zip(self._names, (int(x) for x in table.sum(axis=0)), strict=True))}
        if self.params.stratify_by is not None:
            order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], c.groups[i]))
            self._report["strata"] = {
                c.groups[i]: dict(zip(self._names, (int(x) for x in table[i]), strict=True))
                for i in order[:REPORT_GROUPS]
            }
            if len(order) > REPORT_GROUPS:
                self._report["strata_not_shown"] = len(order) - REPORT_GROUPS
        return {shard: (self._names, part) for shard, part in c.per_shard(which).items()}

    def apply(self, record: Record, index: int, plan: SplitPlan) -> Record | Drop:
        names, which = plan
        set_field(record, self._target, names[which[index]])
        return record

    def report(self) -> dict[str, Any]:
        return self._report
