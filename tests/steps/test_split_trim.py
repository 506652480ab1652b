from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from datamill.records import Record
from datamill.steps.split import Split, SplitParams
from datamill.steps.trim import TrimParams, TrimToMultiple

from .helpers import ids, reasons, run_global_step


def make(n: int, groups: tuple[str, ...] = ("a", "b", "c")) -> list[Record]:
    return [{"id": f"s:{i}", "text": f"t{i}", "category": groups[i % len(groups)]} for i in range(n)]


def test_split_counts_are_exact_and_nothing_is_dropped() -> None:
    step = Split(SplitParams(ratios={"train": 0.9, "test": 0.1}))
    kept, dropped = run_global_step(step, make(1000), 77)
    assert not dropped and ids(kept) == ids(make(1000))
    assert Counter(r["split"] for r in kept) == {"train": 900, "test": 100}
    assert step.report()["counts"] == {"test": 100, "train": 900}


def test_split_three_ways_largest_remainder() -> None:
    kept, _ = run_global_step(Split(SplitParams(ratios={"train": 0.8, "dev": 0.1, "test": 0.1})), make(15), 4)
    assert Counter(r["split"] for r in kept) == {"train": 12, "dev": 2, "test": 1}  # 12 / 1.5 / 1.5


def test_split_ignores_key_order_and_depends_on_seed() -> None:
    a, _ = run_global_step(Split(SplitParams(ratios={"train": 0.7, "test": 0.3})), make(200), 50)
    b, _ = run_global_step(Split(SplitParams(ratios={"test": 0.3, "train": 0.7})), make(200), 9)
    c, _ = run_global_step(Split(SplitParams(ratios={"train": 0.7, "test": 0.3}, seed=1)), make(200), 50)
    assert a == b and a != c


def test_split_stratified() -> None:
    records = make(300, groups=("a", "a", "b"))  # 200 a, 100 b
    step = Split(SplitParams(ratios={"train": 0.75, "test": 0.25}, stratify_by="category"))
    kept, _ = run_global_step(step, records, 64)
    assert Counter((r["category"], r["split"]) for r in kept) == {
        ("a", "train"): 150, ("a", "test"): 50, ("b", "train"): 75, ("b", "test"): 25,
    }
    assert step.report()["strata"]["b"] == {"test": 25, "train": 75}


def test_split_writes_custom_field_into_meta() -> None:
    kept, _ = run_global_step(Split(SplitParams(ratios={"x": 0.5, "y": 0.5}, field="meta.fold")), make(4), 2)
    assert all(r["meta"]["fold"] in ("x", "y") and "fold" not in r for r in kept)


def test_split_on_empty_input() -> None:
    step = Split(SplitParams())
    assert run_global_step(step, [], 5) == ([], [])
    assert step.report()["counts"] == {"test": 0, "train": 0}


@pytest.mark.parametrize(
    "params",
    [{"ratios": {"train": 0.9, "test": 0.2}}, {"ratios": {"train": 1.0, "test": 0.0}}, {"ratios": {}},
     {"ratios": {"train": 1.0}, "field": "id"}, {"ratios": {"train": -0.5, "test": 1.5}},
     {"ratios": {"train": 1.0}, "field": "fold"}, {"ratios": {"train": 1.0}, "stratify_by": "task_type"}],
)
def test_split_invalid_params(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SplitParams.model_validate(params)


def test_split_tolerates_ratios_summing_to_one_within_1e6() -> None:
    params = SplitParams(ratios={"a": 0.3333333, "b": 0.3333333, "c": 0.3333333})
    assert sum(params.ratios.values()) != 1  # 0.9999999: accepted, not rounded away
    kept, _ = run_global_step(Split(params), make(300), 64)
    assert Counter(r["split"] for r in kept) == {"a": 100, "b": 100, "c": 100}
    with pytest.raises(ValidationError, match=r"sum to 0\.99999"):
        SplitParams(ratios={"a": 0.33333, "b": 0.33333, "c": 0.33333})


def test_trim_whole_set_drops_the_last() -> None:
    step = TrimToMultiple(TrimParams(k=8, by=None))
    kept, dropped = run_global_step(step, make(21), 5)
    assert ids(kept) == [f"s:{i}" for i in range(16)]
    assert set(reasons(dropped).values()) == {"trim_to_multiple"}


def test_trim_by_split_each_group_separately() -> None:
    # 32 train, 11 test
    records = [{"id": f"s:{i}", "split": "train" if i % 4 else "test"} for i in range(43)]
    kept, _ = run_global_step(TrimToMultiple(TrimParams(k=8)), records, 10)
    assert Counter(r["split"] for r in kept) == {"train": 32, "test": 8}


def test_trim_without_split_field_trims_everything_as_one() -> None:
    kept, _ = run_global_step(TrimToMultiple(TrimParams(k=4)), make(10), 3)
    assert len(kept) == 8


def test_trim_random_is_seeded_and_not_the_tail() -> None:
    a, _ = run_global_step(TrimToMultiple(TrimParams(k=10, by=None, drop="random", seed=3)), make(99), 7)
    b, _ = run_global_step(TrimToMultiple(TrimParams(k=10, by=None, drop="random", seed=3)), make(99), 40)
    assert len(a) == 90 and ids(a) == ids(b) and ids(a) != [f"s:{i}" for i in range(90)]


def test_trim_k_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        TrimParams(k=0)
