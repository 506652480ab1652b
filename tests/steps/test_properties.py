"""Properties every step must keep, whatever the data and however it is sharded."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from datamill.records import Record
from datamill.steps.base import GlobalStep, RowStep
from datamill.steps.dedup_exact import DedupExact, DedupExactParams, Normalize
from datamill.steps.fields import DropFields, DropParams, RenameFields, RenameParams
from datamill.steps.filter_expr import Filter, FilterParams
from datamill.steps.limit import Limit, LimitParams
from datamill.steps.sample import Sample, SampleParams
from datamill.steps.selection import largest_remainder, ratio_weights
from datamill.steps.split import Split, SplitParams
from datamill.steps.trim import TrimParams, TrimToMultiple

from .helpers import chat, ids, run_global_step, run_row_step

SHARD_SIZES = (1, 3, 1000)
words = st.sampled_from(["", "a", "A", "b", " a ", "ｂ", "c c", "q?"])


@st.composite
def datasets(draw: st.DrawFn) -> list[Record]:
    rows = draw(st.lists(st.tuples(words, words, st.sampled_from(["x", "y", "z", None]),
                                   st.sampled_from(["train", "test", None])), max_size=60))
    out = []
    for i, (prompt, answer, category, split) in enumerate(rows):
        record = chat(f"h:{i}", prompt, answer, meta={"n": i % 7, "cat": category})
        if category is not None:
            record["category"] = category
        if split is not None:
            record["split"] = split
        out.append(record)
    return out


ROW_STEPS: list[RowStep[Any]] = [
    Filter(FilterParams(expr="len(answer) > 1 or meta.n > 3")),
    Filter(FilterParams(expr="category < 'y'")),  # errors on records without category
    RenameFields(RenameParams(mapping={"meta.cat": "category"}, strict=True)),
    DropFields(DropParams(fields=["category"], strict=True)),
]


def global_steps() -> list[GlobalStep[Any, Any, Any]]:
    return [
        Limit(LimitParams(n=17)),
        Sample(SampleParams(n=11, seed=5)),
        Sample(SampleParams(fraction=0.4, by="category", per_group_cap=6)),
        Sample(SampleParams(n=13, by="meta.n", per_group_cap=3)),
        Split(SplitParams(ratios={"train": 0.6, "dev": 0.25, "test": 0.15}, stratify_by="category")),
        TrimToMultiple(TrimParams(k=4)),
        TrimToMultiple(TrimParams(k=3, by="category", drop="random", seed=2)),
        DedupExact(DedupExactParams()),
        DedupExact(DedupExactParams(on="prompt", normalize=Normalize(punctuation=True))),
    ]


def has_category(records: list[Record]) -> bool:
    return not records or any("category" in r for r in records)


def assert_filtered(records: list[Record], kept: list[Record], dropped: list[tuple[Record, Any]]) -> None:
    """Nothing added, nothing lost: kept is a subsequence of the input and kept + dropped is the input."""
    assert len(kept) + len(dropped) == len(records)
    assert sorted(ids(kept) + [r["id"] for r, _ in dropped]) == sorted(ids(records))
    order = {r["id"]: i for i, r in enumerate(records)}
    assert [order[i] for i in ids(kept)] == sorted(order[i] for i in ids(kept))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_row_steps_never_add_records(records: list[Record]) -> None:
    for step in ROW_STEPS:
        kept, dropped = run_row_step(step, records)
        assert_filtered(records, kept, dropped)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_global_steps_never_add_records_and_ignore_sharding(records: list[Record]) -> None:
    assume(has_category(records))  # grouping by a field no record has is an error (a typo), not a group
    for step in global_steps():
        results = [run_global_step(step, records, size) for size in SHARD_SIZES]
        kept, dropped = results[0]
        assert_filtered(records, kept, dropped)
        for other in results[1:]:
            assert other == results[0], f"{step.name} depends on the shard size"


@settings(max_examples=60, deadline=None)
@given(datasets(), st.integers(0, 2**64 - 1))
def test_split_is_disjoint_covering_and_exact(records: list[Record], seed: int) -> None:
    ratios = {"train": 0.8, "dev": 0.1, "test": 0.1}
    kept, dropped = run_global_step(Split(SplitParams(ratios=ratios, seed=seed)), records, 7)
    assert not dropped and ids(kept) == ids(records)
    counts = Counter(r["split"] for r in kept)
    names = sorted(ratios)
    expected = largest_remainder(len(records), ratio_weights([ratios[n] for n in names]))
    assert [counts.get(n, 0) for n in names] == expected


@settings(max_examples=60, deadline=None)
@given(datasets(), st.integers(0, 1000))
def test_stratified_split_is_within_one_per_stratum(records: list[Record], seed: int) -> None:
    assume(has_category(records))
    step = Split(SplitParams(ratios={"a": 0.7, "b": 0.3}, seed=seed, stratify_by="category"))
    kept, _ = run_global_step(step, records, 5)
    strata = Counter(r.get("category") for r in kept)
    pairs = Counter((r.get("category"), r["split"]) for r in kept)
    for stratum, n in strata.items():
        assert abs(pairs[(stratum, "a")] - Fraction(7, 10) * n) < 1
    assert abs(sum(1 for r in kept if r["split"] == "a") - Fraction(7, 10) * len(kept)) < 1


@settings(max_examples=60, deadline=None)
@given(datasets(), st.integers(0, 100), st.integers(0, 100))
def test_seeded_sample_is_deterministic(records: list[Record], n: int, seed: int) -> None:
    assume(has_category(records))
    a, _ = run_global_step(Sample(SampleParams(n=n, seed=seed, by="category")), records, 4)
    b, _ = run_global_step(Sample(SampleParams(n=n, seed=seed, by="category")), list(records), 1000)
    assert a == b and len(a) == min(n, len(records))


@settings(max_examples=60, deadline=None)
@given(datasets(), st.sampled_from(["prompt", "answer", "prompt+answer", "conversation"]))
def test_dedup_is_idempotent(records: list[Record], on: str) -> None:
    step = DedupExact(DedupExactParams(on=on))
    once, _ = run_global_step(step, records, 3)
    twice, dropped = run_global_step(step, once, 5)
    assert twice == once and not dropped


@settings(max_examples=60, deadline=None)
@given(datasets(), st.integers(1, 9), st.sampled_from(["last", "random"]))
def test_trim_leaves_multiples_of_k(records: list[Record], k: int, drop: str) -> None:
    kept, dropped = run_global_step(TrimToMultiple(TrimParams(k=k, drop=drop)), records, 4)  # type: ignore[arg-type]
    for size in Counter(r.get("split") for r in kept).values():
        assert size % k == 0
    for size in Counter(r.get("split") for r, _ in dropped).values():
        assert size < k
