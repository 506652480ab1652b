from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from datamill.records import Record
from datamill.steps.limit import Limit, LimitParams
from datamill.steps.sample import Sample, SampleParams

from .helpers import ids, reasons, run_global_step


def make(n: int, groups: tuple[str, ...] = ("a", "b", "c")) -> list[Record]:
    return [{"id": f"s:{i}", "text": f"t{i}", "category": groups[i % len(groups)]} for i in range(n)]


@pytest.mark.parametrize(("n", "shard_size"), [(0, 3), (1, 1), (5, 3), (10, 4), (25, 1000)])
def test_limit_keeps_the_first_n(n: int, shard_size: int) -> None:
    step = Limit(LimitParams(n=n))
    kept, dropped = run_global_step(step, make(20), shard_size)
    assert ids(kept) == [f"s:{i}" for i in range(min(n, 20))]
    assert set(reasons(dropped).values()) <= {"limit"}
    assert step.report() == {"seen": 20, "kept": min(n, 20)}


def test_limit_on_empty_input() -> None:
    assert run_global_step(Limit(LimitParams(n=3)), [], 10) == ([], [])


def test_sample_n_keeps_exactly_n_and_is_deterministic() -> None:
    records = make(500)
    kept, dropped = run_global_step(Sample(SampleParams(n=50, seed=7)), records, 64)
    again, _ = run_global_step(Sample(SampleParams(n=50, seed=7)), records, 7)
    other, _ = run_global_step(Sample(SampleParams(n=50, seed=8)), records, 64)
    assert len(kept) == 50 and ids(kept) == ids(again) and ids(kept) != ids(other)
    assert set(reasons(dropped).values()) == {"sample"}
    assert ids(kept) == sorted(ids(kept), key=lambda i: int(i.split(":")[1]))  # input order kept


def test_sample_larger_n_is_a_superset() -> None:
    small, _ = run_global_step(Sample(SampleParams(n=20)), make(300), 50)
    large, _ = run_global_step(Sample(SampleParams(n=80)), make(300), 50)
    assert set(ids(small)) < set(ids(large))


@pytest.mark.parametrize(("fraction", "expected"), [(0.1, 50), (0.333, 167), (1.0, 500), (0.001, 1)])
def test_sample_fraction_rounds_to_nearest(fraction: float, expected: int) -> None:
    kept, _ = run_global_step(Sample(SampleParams(fraction=fraction)), make(500), 100)
    assert len(kept) == expected


def test_sample_by_group_keeps_proportions_exactly() -> None:
    records = make(600, groups=("a", "a", "a", "b", "b", "c"))  # 300 / 200 / 100
    step = Sample(SampleParams(n=61, by="category"))
    kept, _ = run_global_step(step, records, 33)
    assert Counter(r["category"] for r in kept) == {"a": 31, "b": 20, "c": 10}  # 30.5 / 20.33 / 10.17
    report: dict[str, Any] = step.report()
    assert report["kept"] == 61 and report["groups"]["a"] == {"before": 300, "after": 31}


def test_sample_per_group_cap_rebalances_n() -> None:
    records = make(600, groups=("a", "a", "a", "b", "b", "c"))
    kept, _ = run_global_step(Sample(SampleParams(n=150, by="category", per_group_cap=60)), records, 100)
    assert Counter(r["category"] for r in kept) == {"a": 60, "b": 60, "c": 30}


def test_sample_cap_alone_and_with_fraction() -> None:
    records = make(600, groups=("a", "a", "a", "b", "b", "c"))
    kept, _ = run_global_step(Sample(SampleParams(by="category", per_group_cap=150)), records, 100)
    assert Counter(r["category"] for r in kept) == {"a": 150, "b": 150, "c": 100}
    step = Sample(SampleParams(fraction=0.5, by="category", per_group_cap=120))
    kept, _ = run_global_step(step, records, 100)
    assert Counter(r["category"] for r in kept) == {"a": 120, "b": 100, "c": 50}


def test_sample_missing_group_field_is_its_own_group() -> None:
    records = make(10) + [{"id": f"x:{i}", "text": "t"} for i in range(10)]
    step = Sample(SampleParams(n=10, by="category"))
    run_global_step(step, records, 4)
    assert step.report()["groups"]["null"]["after"] == 5


@pytest.mark.parametrize(
    "params",
    [{}, {"n": 1, "fraction": 0.5}, {"per_group_cap": 3}, {"fraction": 0}, {"fraction": 1.5}, {"n": -1},
     {"n": 1, "seed": -1}, {"n": 1, "weights": {}}],
)
def test_sample_invalid_params(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SampleParams.model_validate(params)


def test_sample_explicit_targets_and_caps() -> None:
    records = make(600, groups=("a", "a", "a", "b", "b", "c"))  # 300 / 200 / 100
    kept, _ = run_global_step(Sample(SampleParams(by="category", targets={"a": 10, "c": 500})), records, 50)
    assert Counter(r["category"] for r in kept) == {"a": 10, "c": 100}
    kept, _ = run_global_step(Sample(SampleParams(n=100, by="category", targets={"a": 10})), records, 50)
    assert Counter(r["category"] for r in kept) == {"a": 10, "b": 60, "c": 30}
    kept, _ = run_global_step(Sample(SampleParams(n=60, by="category", caps={"a": 10})), records, 50)
    assert Counter(r["category"] for r in kept) == {"a": 10, "b": 33, "c": 17}
    with pytest.raises(ValidationError):
        SampleParams(targets={"a": 1})
    with pytest.raises(ValidationError):
        SampleParams(n=5, by="category", targets={"a": 10})
