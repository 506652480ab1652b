"""Small mergeable summaries of many values, for the build report.

Each shard task keeps a few of these while it writes its records; the report merges them instead of
reading the records again. Every sketch has a fixed size whatever the number of records, merges
exactly (``merge(a, b)`` equals the sketch of ``a``'s and ``b``'s records together, up to the caps
noted below) and round-trips through JSON.

* :class:`LengthHist`: lengths in log-spaced bins (4 per doubling, so a bin is at most 19% wide),
  with exact count, sum, min and max.
* :class:`ValueCounts`: numbers (scores, confidences) counted by value rounded to 2-3 significant
  digits; at most :data:`VALUE_KEYS` distinct keys (rounded coarser beyond that).
* :class:`BottomK`: a uniform sample of ``k`` items: the ``k`` smallest of a 64-bit hash per item.
  Taking the ``k`` smallest of each shard's ``k`` smallest gives the sample of the whole run, and the
  same data always gives the same sample.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import xxhash

#: bins per doubling of a length
BINS_PER_OCTAVE = 4
#: distinct keys a :class:`ValueCounts` keeps before rounding coarser
VALUE_KEYS = 512


def length_bin(n: int) -> int:
    """Bin of a non-negative length: 0 holds 0, bin ``b >= 1`` holds ``[2**((b-1)/4), 2**(b/4))``."""
    if n <= 0:
        return 0
    return 1 + int(math.log2(n) * BINS_PER_OCTAVE)


def bin_range(b: int) -> tuple[float, float]:
    """The lengths bin ``b`` holds, as ``[low, high)``."""
    if b <= 0:
        return 0.0, 1.0
    return 2 ** ((b - 1) / BINS_PER_OCTAVE), 2 ** (b / BINS_PER_OCTAVE)


@dataclass
class LengthHist:
    """Counts of lengths by :func:`length_bin`, plus exact n, sum, min and max."""

    bins: Counter[int] = field(default_factory=Counter)
    n: int = 0
    total: int = 0
    min: int | None = None
    max: int | None = None

    def add(self, value: int) -> None:
        self.bins[length_bin(value)] += 1
        self.n += 1
        self.total += value
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value

    def add_many(self, values: list[int]) -> None:
        """:meth:`add` for many values at once (vectorized: the profiles of big shards use this)."""
        if not values:
            return
        import numpy as np

        a = np.asarray(values, dtype=np.int64)
        bins = np.zeros(len(a), dtype=np.int64)
        positive = a > 0
        bins[positive] = 1 + np.floor(np.log2(a[positive]) * BINS_PER_OCTAVE).astype(np.int64)
        keys, counts = np.unique(bins, return_counts=True)
        for b, c in zip(keys.tolist(), counts.tolist(), strict=True):
            self.bins[b] += c
        self.n += len(a)
        self.total += int(a.sum())
        low, high = int(a.min()), int(a.max())
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)

    def merge(self, other: LengthHist) -> None:
        self.bins.update(other.bins)
        self.n += other.n
        self.total += other.total
        if other.min is not None and (self.min is None or other.min < self.min):
            self.min = other.min
        if other.max is not None and (self.max is None or other.max > self.max):
            self.max = other.max

    def quantile(self, q: float) -> float:
        """The ``q`` quantile, to within a bin (the bin's upper edge, capped at the exact max)."""
        if not self.n:
            return 0.0
        rank = q * self.n
        seen = 0
        for b in sorted(self.bins):
            seen += self.bins[b]
            if seen >= rank:
                return min(bin_range(b)[1], float(self.max or 0)) if b else 0.0
        return float(self.max or 0)

    def count_over(self, limit: int) -> int:
        """Lengths above ``limit``, counting a bin that straddles it as wholly above (an upper bound)."""
        return sum(c for b, c in self.bins.items() if bin_range(b)[1] > limit + 1)

    def to_json(self) -> dict[str, Any]:
        return {"bins": {str(b): c for b, c in sorted(self.bins.items())}, "n": self.n, "sum": self.total,
                "min": self.min, "max": self.max}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LengthHist:
        return cls(Counter({int(b): int(c) for b, c in data.get("bins", {}).items()}), int(data.get("n", 0)),
                   int(data.get("sum", 0)), data.get("min"), data.get("max"))


def _round_value(v: float, digits: int) -> float:
    if v == 0 or not math.isfinite(v):
        return v
    scale = digits - 1 - math.floor(math.log10(abs(v)))
    return round(v, scale)


@dataclass
class ValueCounts:
    """Counts of numbers by value rounded to ``digits`` significant digits (fewer once there are more
    than :data:`VALUE_KEYS` distinct values), plus exact n, sum, min and max."""

    counts: Counter[float] = field(default_factory=Counter)
    digits: int = 3
    n: int = 0
    total: float = 0.0
    min: float | None = None
    max: float | None = None

    def add(self, value: float) -> None:
        if not math.isfinite(value):
            return
        self.counts[_round_value(value, self.digits)] += 1
        self.n += 1
        self.total += value
        self.min = value if self.min is None else min(self.min, value)
        self.max = value if self.max is None else max(self.max, value)
        if len(self.counts) > VALUE_KEYS:
            self._coarsen(self.digits - 1)

    def _coarsen(self, digits: int) -> None:
        while len(self.counts) > VALUE_KEYS and digits >= 1:
            merged: Counter[float] = Counter()
            for v, c in self.counts.items():
                merged[_round_value(v, digits)] += c
            self.counts, self.digits = merged, digits
            digits -= 1

    def merge(self, other: ValueCounts) -> None:
        if other.digits < self.digits:
            self._coarsen_to(other.digits)
        for v, c in other.counts.items():
            self.counts[_round_value(v, self.digits)] += c
        self.n += other.n
        self.total += other.total
        for attr, pick in (("min", min), ("max", max)):
            mine, theirs = getattr(self, attr), getattr(other, attr)
            if theirs is not None:
                setattr(self, attr, theirs if mine is None else pick(mine, theirs))
        self._coarsen(self.digits - 1)

    def _coarsen_to(self, digits: int) -> None:
        merged: Counter[float] = Counter()
        for v, c in self.counts.items():
            merged[_round_value(v, digits)] += c
        self.counts, self.digits = merged, digits

    def histogram(self, bins: int = 20) -> list[tuple[float, float, int]]:
        """``(low, high, count)`` over ``bins`` equal-width bins from min to max."""
        if not self.n or self.min is None or self.max is None:
            return []
        lo, hi = self.min, self.max
        if hi <= lo:
            return [(lo, hi, self.n)]
        width = (hi - lo) / bins
        out = [0] * bins
        for v, c in self.counts.items():
            out[min(bins - 1, max(0, int((v - lo) / width)))] += c
        return [(lo + i * width, lo + (i + 1) * width, c) for i, c in enumerate(out)]

    def to_json(self) -> dict[str, Any]:
        return {"values": [[v, c] for v, c in sorted(self.counts.items())], "digits": self.digits, "n": self.n,
                "sum": self.total, "min": self.min, "max": self.max}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ValueCounts:
        return cls(Counter({float(v): int(c) for v, c in data.get("values", [])}), int(data.get("digits", 3)),
                   int(data.get("n", 0)), float(data.get("sum", 0.0)), data.get("min"), data.get("max"))


def item_key(text: str | bytes) -> int:
    """The 64-bit hash that orders items for :class:`BottomK` (of a record id, or of its stored bytes)."""
    return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)


@dataclass
class BottomK:
    """The ``k`` items with the smallest keys seen: a uniform, mergeable, deterministic sample."""

    k: int
    _heap: list[tuple[int, int, Any]] = field(default_factory=list)  # (-key, tiebreak, item): a max-heap
    seen: int = 0

    def would_take(self, key: int) -> bool:
        return len(self._heap) < self.k or -self._heap[0][0] > key

    def offer(self, key: int, make: Callable[[], Any]) -> None:
        """Count an item; build it with ``make()`` only when it enters the sample."""
        self.seen += 1
        if not self.would_take(key):
            return
        entry = (-key, -self.seen, make())
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heapreplace(self._heap, entry)

    def merge(self, other: BottomK) -> None:
        seen = self.seen + other.seen
        for key, item in other.items_with_keys():
            self.offer(key, lambda item=item: item)  # type: ignore[misc]
        self.seen = seen

    def items_with_keys(self) -> Iterator[tuple[int, Any]]:
        for neg, _, item in sorted(self._heap, key=lambda e: (-e[0], e[1])):
            yield -neg, item

    def items(self) -> list[Any]:
        return [item for _, item in self.items_with_keys()]

    def to_json(self) -> dict[str, Any]:
        return {"k": self.k, "seen": self.seen, "items": [[key, item] for key, item in self.items_with_keys()]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BottomK:
        sample = cls(int(data["k"]))
        for key, item in data.get("items", []):
            sample.offer(int(key), lambda item=item: item)  # type: ignore[misc]
        sample.seen = int(data.get("seen", 0))
        return sample


def merge_all(items: Iterable[Any]) -> Any:
    """Merge sketches of one type (the first one absorbs the rest); ``None`` for none."""
    first = None
    for item in items:
        if first is None:
            first = item
        else:
            first.merge(item)
    return first
