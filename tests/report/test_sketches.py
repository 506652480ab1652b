"""Report sketches: merging per-shard sketches gives the sketch of all the values (any sharding)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from datamill.report.sketches import BottomK, LengthHist, ValueCounts, bin_range, item_key, length_bin, merge_all


def shards_of(values: list[int], cuts: list[int]) -> list[list[int]]:
    points = sorted({c % (len(values) + 1) for c in cuts})
    bounds = [0, *points, len(values)]
    return [values[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10**7), max_size=300), st.lists(st.integers(0, 400), max_size=6))
def test_length_hist_merge_equals_one_pass(values: list[int], cuts: list[int]) -> None:
    whole = LengthHist()
    for v in values:
        whole.add(v)
    parts = []
    for shard in shards_of(values, cuts):
        h = LengthHist()
        for v in shard:
            h.add(v)
        parts.append(LengthHist.from_json(h.to_json()))  # through JSON, as the report reads them
    merged = merge_all(parts)
    assert merged.to_json() == whole.to_json()
    assert merged.n == len(values)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**9))
def test_a_length_falls_in_its_bin(n: int) -> None:
    low, high = bin_range(length_bin(n))
    assert low <= n < high or (n == 0 and low == 0)


def test_quantiles_are_within_a_bin_of_the_truth() -> None:
    h = LengthHist()
    values = list(range(1, 10001))
    for v in values:
        h.add(v)
    for q in (0.5, 0.9, 0.99):
        truth = values[int(q * len(values)) - 1]
        assert truth <= h.quantile(q) <= truth * 2 ** 0.25 + 1
    assert h.quantile(1.0) == 10000


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), max_size=300), st.lists(st.integers(0, 400), max_size=6))
def test_value_counts_merge_equals_one_pass(values: list[float], cuts: list[int]) -> None:
    whole = ValueCounts()
    for v in values:
        whole.add(v)
    parts = []
    for shard in shards_of(list(range(len(values))), cuts):
        vc = ValueCounts()
        for i in shard:
            vc.add(values[i])
        parts.append(ValueCounts.from_json(vc.to_json()))
    merged = merge_all(parts) or ValueCounts()
    assert merged.counts == whole.counts
    assert (merged.n, merged.min, merged.max) == (whole.n, whole.min, whole.max)
    assert abs(merged.total - whole.total) < 1e-6
    assert sum(c for _, _, c in merged.histogram()) == len(values)


def test_value_counts_stay_small() -> None:
    vc = ValueCounts()
    for i in range(20000):
        vc.add(i * 1.2345)
    assert len(vc.counts) <= 512
    assert vc.n == 20000 and sum(vc.counts.values()) == 20000


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), max_size=200, unique=True), st.lists(st.integers(0, 300), max_size=6),
       st.integers(1, 10))
def test_bottom_k_merge_is_the_sample_of_all(ids: list[str], cuts: list[int], k: int) -> None:
    parts = []
    for shard in shards_of(list(range(len(ids))), cuts):
        sample = BottomK(k)
        for i in shard:
            sample.offer(item_key(ids[i]), lambda i=i: ids[i])
        parts.append(BottomK.from_json(sample.to_json()))
    merged = merge_all(parts) or BottomK(k)
    expected = [i for _, i in sorted((item_key(x), x) for x in ids)[:k]]
    assert merged.items() == expected
    assert merged.seen == len(ids)


def test_bottom_k_builds_only_what_it_keeps() -> None:
    built = []
    sample = BottomK(3)
    for i in range(1000):
        sample.offer(item_key(str(i)), lambda i=i: built.append(i) or i)
    assert len(sample.items()) == 3
    assert len(built) < 60  # about k * ln(n / k) entries ever enter the sample


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**40), max_size=300))
def test_length_hist_add_many_equals_add(values: list[int]) -> None:
    one, many = LengthHist(), LengthHist()
    for v in values:
        one.add(v)
    many.add_many(values)
    assert many.to_json() == one.to_json()
