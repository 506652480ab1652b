from __future__ import annotations

import random

import numpy as np
import pytest
from pydantic import ValidationError

from datamill.steps.dedup.components import components
from datamill.steps.dedup.keep import KeepParams, priority
from datamill.steps.dedup_exact import DedupExact, DedupExactParams
from steps.helpers import chat, ids, run_global_step


def brute_components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


@pytest.mark.parametrize("seed", range(20))
def test_components_match_union_find(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 300)
    edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, 2 * n))]
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    assert components(n, a, b).tolist() == brute_components(n, edges)


def test_components_long_chain() -> None:
    n = 10_000
    a = np.arange(n - 1)[::-1].copy()
    assert set(components(n, a, a + 1).tolist()) == {0}


def test_keep_policies() -> None:
    rec = {"id": "x", "source": "b", "scores": {"q": 0.5}}
    assert priority(KeepParams.model_validate("first"), rec) == 0
    assert priority(KeepParams.model_validate("longest"), {"text": "abc"}) == -3
    assert priority(KeepParams(policy="score", score="scores.q"), rec) == -0.5
    assert priority(KeepParams(policy="score", score="scores.missing"), rec) == float("inf")
    assert priority(KeepParams(policy="source", sources=["a", "b"]), rec) == 1
    assert priority(KeepParams(policy="source", sources=["a"]), rec) == 1
    with pytest.raises(ValidationError):
        KeepParams(policy="score")
    with pytest.raises(ValidationError):
        KeepParams(policy="source")


@pytest.mark.parametrize(
    ("keep", "survivor"),
    [
        ("first", "a"),
        ("longest", "c"),
        ({"policy": "score", "score": "scores.q"}, "b"),
        ({"policy": "source", "sources": ["s3", "s1"]}, "c"),
    ],
)
def test_exact_keep_policy(keep: object, survivor: str) -> None:
    recs = [chat("a", "Hello", "x", source="s1", scores={"q": 1}),
            chat("b", "hello", "x", source="s2", scores={"q": 3}),
            chat("c", "HELLO  ", "x, the longest answer", source="s3", scores={"q": 2}),
            chat("d", "other", "x", source="s1")]
    step = DedupExact(DedupExactParams.model_validate({"on": "prompt", "keep": keep}))
    kept, dropped = run_global_step(step, recs, shard_size=2)
    assert ids(kept) == sorted({survivor, "d"}, key="abcd".index)
    assert {d.detail["duplicate_of"] for _, d in dropped} == {survivor}
    assert all(d.detail["similarity"] == 1.0 for _, d in dropped)
    assert {r["source"]: r["removed"] for r in step.report()["by_source"]} == {
        "s1": int(survivor != "a"), "s2": int(survivor != "b"), "s3": int(survivor != "c")}


def test_keep_score_reads_numeric_strings_as_numbers() -> None:
    keep = KeepParams(policy="score", score="meta.rating")
    assert priority(keep, {"id": "a", "meta": {"rating": " 4.5 "}}) == -4.5  # a CSV column
    assert priority(keep, {"id": "b", "meta": {"rating": "nan"}}) == float("inf")
    assert priority(keep, {"id": "c", "meta": {"rating": True}}) == float("inf")
