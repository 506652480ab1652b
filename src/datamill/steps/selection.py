"""Shared machinery of the selection steps (``sample``, ``split``, ``trim_to_multiple``).

* :func:`rank_key`: a record's seeded random key, ``xxh3_64(step name, id; seed)``. It depends only on
  the seed, the step and the record id, never on shard order or a global RNG stream, so results do
  not change with shard sizes or worker counts. The step name is mixed in so that ``split`` and
  ``sample`` with the same seed are independent (otherwise sampling after a split with seed 0 would
  pick mostly one split).
* :func:`group_key`: a grouping value as a string (``by:``, ``stratify_by:``).
* :func:`collect` + :func:`ranks`: the reduce side: every signature in numpy arrays (16 bytes a
  record), then each record's rank inside its group by (key, global position).
* exact integer apportionment: :func:`largest_remainder`, :func:`capped_allocation`,
  :func:`stratified_allocation`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import lcm
from typing import Any

import numpy as np
import xxhash

from datamill.steps.base import ShardSignatures

#: (rank key, group key) — what a selection step's ``signature`` returns.
KeySignature = tuple[int, str]
SEED_MAX = 2**64 - 1
#: Reports list at most this many groups (largest first); the rest are counted.
REPORT_GROUPS = 1000


def rank_key(seed: int, salt: str, record_id: Any) -> int:
    """The record's random key: uniform over 64 bits, fixed by (seed, salt, id)."""
    return xxhash.xxh3_64_intdigest(f"{salt}\x1f{record_id}".encode(), seed=seed)


def group_key(value: Any) -> str:
    """A grouping value as a string: strings as they are, anything else as compact JSON (1, true, null)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass
class Collected:
    """Every signature of a global step, in global order (shards in order, records in shard order)."""

    shards: list[str]
    offsets: np.ndarray  # len(shards) + 1 start positions
    keys: np.ndarray  # uint64 rank keys
    codes: np.ndarray  # int32 group index into ``groups``
    groups: list[str]  # sorted group keys

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.groups))

    def per_shard(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Cut a per-record array into one (copied, compact) slice per shard."""
        return {s: values[self.offsets[i]:self.offsets[i + 1]].copy() for i, s in enumerate(self.shards)}


def collect(shards: Iterator[ShardSignatures[KeySignature]]) -> Collected:
    names: list[str] = []
    lengths: list[int] = []
    key_parts: list[np.ndarray] = []
    code_parts: list[np.ndarray] = []
    index: dict[str, int] = {}
    for shard in shards:
        names.append(shard.shard)
        lengths.append(len(shard.signatures))
        key_parts.append(np.fromiter((s[0] for s in shard.signatures), dtype=np.uint64,
                                     count=len(shard.signatures)))
        code_parts.append(np.fromiter((index.setdefault(s[1], len(index)) for s in shard.signatures),
                                      dtype=np.int32, count=len(shard.signatures)))
    groups = sorted(index)
    remap = np.empty(len(index), dtype=np.int32)
    for new, g in enumerate(groups):
        remap[index[g]] = new
    codes = remap[np.concatenate(code_parts)] if code_parts and index else np.zeros(0, dtype=np.int32)
    keys = np.concatenate(key_parts) if key_parts else np.zeros(0, dtype=np.uint64)
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64)
    return Collected(names, offsets, keys, codes, groups)


def ranks(c: Collected, by_key: bool = True) -> np.ndarray:
    """Each record's 0-based rank within its group: by (key, position), or by position alone."""
    n = len(c.codes)
    order = np.lexsort((c.keys, c.codes)) if by_key else np.argsort(c.codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(c.sizes)[:-1]]).astype(np.int64)
    out = np.empty(n, dtype=np.int64)
    out[order] = np.arange(n, dtype=np.int64) - starts[c.codes[order]]
    return out


def exact_fraction(x: float) -> Fraction:
    """The decimal a float was written as (0.1 -> 1/10), so ratios like 0.7/0.3 allocate exactly."""
    return Fraction(repr(float(x)))


def ratio_weights(ratios: Sequence[float]) -> list[int]:
    """Integer weights proportional to ``ratios`` (exact decimal values, common denominator)."""
    fracs = [exact_fraction(r) for r in ratios]
    denom = lcm(*(f.denominator for f in fracs))
    return [int(f * denom) for f in fracs]


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights``: floors, then one more for the largest remainders.

    Exact integer arithmetic; the result sums to ``total``. Ties go to the earlier index, so callers
    order items deterministically (sorted names).
    """
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("cannot allocate a positive total over zero weights")
        return [0] * len(weights)
    out = [total * w // whole for w in weights]
    left = total - sum(out)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in by_remainder[:left]:
        out[i] += 1
    return out


def capped_allocation(total: int, weights: Sequence[int], caps: Sequence[int]) -> list[int]:
    """Largest remainder with an upper bound per item; what a capped item cannot take goes to the others.

    Returns counts summing to ``min(total, sum(caps))``, each ``<= caps[i]`` and proportional to
    ``weights`` among the items that are not at their cap.
    """
    total = min(total, sum(caps))
    out = [0] * len(weights)
    active = [i for i in range(len(weights)) if caps[i] > 0]
    while active:
        alloc = largest_remainder(total, [weights[i] for i in active])
        over = [i for i, a in zip(active, alloc, strict=True) if a > caps[i]]
        if not over:
            for i, a in zip(active, alloc, strict=True):
                out[i] = a
            break
        for i in over:
            out[i] = caps[i]
            total -= caps[i]
        active = [i for i in active if i not in set(over)]
    return out


def stratified_allocation(sizes: Sequence[int], weights: Sequence[int]) -> list[list[int]]:
    """Split every stratum of ``sizes`` over ``weights``; rounding carried across strata.

    Each stratum gets the floor or the ceiling of its exact share for every part, and its counts sum
    to its size. Which parts get the ceiling is decided by the part's running deficit over all strata
    so far (exact integers), so the overall totals stay close to exact even with many tiny strata,
    where rounding each stratum on its own would favour the small parts every time (three records at
    0.8/0.2 would give the 0.2 part one of three). Overall totals are within one of exact for two
    or three parts, and within about 1.3 in randomized tests with up to eight.
    """
    whole = sum(weights)
    k = len(weights)
    carry = [0] * k  # (exact share - assigned) so far, in units of 1/whole
    out: list[list[int]] = []
    for n in sizes:
        exact = [n * w for w in weights]
        counts = [e // whole for e in exact]
        left = n - sum(counts)
        # only parts with a fractional share may round up, so each stays within one of exact
        fractional = [s for s in range(k) if exact[s] % whole]
        owed = sorted(fractional, key=lambda s: (-(carry[s] + exact[s] % whole), s))
        for s in owed[:left]:
            counts[s] += 1
        carry = [carry[s] + exact[s] - counts[s] * whole for s in range(k)]
        out.append(counts)
    return out


def check_groups(step: str, param: str, path: str | None, c: Collected) -> None:
    """A :class:`StepError` when every record lacks the grouping field (all in the group ``null``): the
    groups would silently be one (a typo such as ``meta.topc``)."""
    if path is not None and c.groups == ["null"]:
        from datamill.errors import StepError

        raise StepError(f"{step}: {param}: {path} is missing (or null) in every one of the {len(c.codes)} records, "
                        "so there is only one group", hint="check the field path (an original column is "
                        "meta.<column>); drop the parameter to use no groups")


def group_report(groups: Sequence[str], before: Sequence[int], after: Sequence[int]) -> dict[str, Any]:
    """``{group: {before, after}}`` for the largest groups, and how many were left out."""
    order = sorted(range(len(groups)), key=lambda i: (-int(before[i]), groups[i]))
    shown = order[:REPORT_GROUPS]
    table = {groups[i]: {"before": int(before[i]), "after": int(after[i])} for i in shown}
    out: dict[str, Any] = {"groups": table}
    if len(order) > len(shown):
        out["groups_not_shown"] = len(order) - len(shown)
    return out
