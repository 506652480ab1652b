from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from datamill.steps.selection import (
    capped_allocation,
    group_key,
    largest_remainder,
    rank_key,
    ratio_weights,
    stratified_allocation,
)

weights_st = st.lists(st.integers(1, 1000), min_size=1, max_size=8)


def test_rank_key_depends_on_seed_salt_and_id_only() -> None:
    assert rank_key(0, "sample", "a:1") == rank_key(0, "sample", "a:1")
    assert rank_key(0, "sample", "a:1") != rank_key(1, "sample", "a:1")
    assert rank_key(0, "sample", "a:1") != rank_key(0, "split", "a:1")


def test_group_key() -> None:
    assert [group_key(v) for v in ("x", 1, None, True, ["b", "a"], {"b": 1, "a": 2})] == [
        "x", "1", "null", "true", '["b","a"]', '{"a":2,"b":1}'
    ]


def test_ratio_weights_use_the_written_decimals() -> None:
    assert ratio_weights([0.7, 0.3]) == [7, 3]
    assert ratio_weights([0.9, 0.05, 0.05]) == [18, 1, 1]
    assert largest_remainder(10, ratio_weights([0.7, 0.3])) == [7, 3]


def test_largest_remainder_examples() -> None:
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert largest_remainder(5, [5, 3, 2]) == [3, 1, 1]  # 2.5, 1.5, 1.0 -> tie goes to the first
    assert largest_remainder(0, [0, 0]) == [0, 0]


@given(st.integers(0, 10_000), weights_st)
def test_largest_remainder_is_exact_and_within_one(total: int, weights: list[int]) -> None:
    out = largest_remainder(total, weights)
    assert sum(out) == total
    for o, w in zip(out, weights, strict=True):
        assert abs(Fraction(o) - Fraction(total * w, sum(weights))) < 1


@given(st.integers(0, 5_000),
       st.lists(st.tuples(st.integers(0, 500), st.integers(0, 300)), min_size=1, max_size=8))
def test_capped_allocation(total: int, items: list[tuple[int, int]]) -> None:
    sizes = [s for s, _ in items]
    caps = [min(s, c) for s, c in items]
    out = capped_allocation(total, sizes, caps)
    assert sum(out) == min(total, sum(caps))
    assert all(0 <= o <= c for o, c in zip(out, caps, strict=True))


def test_capped_allocation_gives_what_capped_groups_cannot_take_to_the_others() -> None:
    assert capped_allocation(100, [900, 50, 50], [20, 50, 50]) == [20, 40, 40]


@given(st.lists(st.integers(0, 40), min_size=1, max_size=60), weights_st)
def test_stratified_allocation_per_stratum_and_overall(sizes: list[int], weights: list[int]) -> None:
    out = stratified_allocation(sizes, weights)
    whole = sum(weights)
    for n, counts in zip(sizes, out, strict=True):
        assert sum(counts) == n
        for c, w in zip(counts, weights, strict=True):
            assert abs(Fraction(c) - Fraction(n * w, whole)) < 1
    if len(weights) <= 3:
        total = sum(sizes)
        for s, w in enumerate(weights):
            assert abs(Fraction(sum(c[s] for c in out)) - Fraction(total * w, whole)) < 1


def test_stratified_allocation_does_not_favour_small_parts_in_tiny_strata() -> None:
    out = stratified_allocation([3] * 1000, [8, 2])
    assert sum(c[1] for c in out) == 600  # per-stratum rounding alone would give 1,000
