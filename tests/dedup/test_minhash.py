from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from datamill.records import Record
from datamill.steps.dedup.lsh import band_layout
from datamill.steps.dedup.minhash import DedupMinHash, DedupMinHashParams
from datamill.steps.dedup.shingles import is_cjk, shingles
from steps.helpers import chat, ids, run_global_step


def test_script_detection_and_shingles() -> None:
    assert is_cjk("请解释一下机器学习")
    assert not is_cjk("Explain machine learning to 小明 please, in simple words")
    assert is_cjk("機械学習とは何ですか")
    toks, chars = shingles("请解释 一下", "auto", 3, 2)
    assert chars and toks == ["请解", "解释", "释一", "一下"]
    toks, chars = shingles("a b c d", "auto", 3, 2)
    assert not chars and toks == ["a b c", "b c d"]
    assert shingles("a b", "auto", 3, 2) == (["a b"], False)
    assert shingles("", "auto", 3, 2) == ([], False)


def test_band_layout_covers_threshold() -> None:
    b, r = band_layout(0.7, 128)
    assert b * r <= 128
    # the S-curve crosses 0.5 near the threshold
    assert abs((1 / b) ** (1 / r) - 0.7) < 0.1


def test_planted_near_duplicates(planted: tuple[list[Record], dict[str, str]]) -> None:
    records, truth = planted
    step = DedupMinHash(DedupMinHashParams())
    _, dropped = run_global_step(step, records, shard_size=37)
    # the groups found are exactly the planted ones (an original with its copies); survivors: first seen
    survivor_of = {r["id"]: d.detail["duplicate_of"] for r, d in dropped}
    found: dict[str, set[str]] = {}
    for r in records:
        found.setdefault(str(survivor_of.get(r["id"], r["id"])), set()).add(str(r["id"]))
    planted_groups: dict[str, set[str]] = {}
    for r in records:
        origin = str(truth.get(r["id"], r["id"]))
        planted_groups.setdefault(origin, set()).add(str(r["id"]))
    assert sorted(map(sorted, found.values())) == sorted(map(sorted, planted_groups.values()))
    first_seen = {r["id"]: i for i, r in enumerate(records)}
    assert all(first_seen[kept] < first_seen[rid] for rid, kept in survivor_of.items())
    assert len(dropped) == len(truth)
    assert all(0.5 <= d.detail["similarity"] <= 1 for _, d in dropped)
    report = step.report()
    assert report["duplicates_dropped"] == len(truth)
    assert report["char_ngram_records"] > 0
    assert {s["source"] for s in report["by_source"]} == {"zh", "en"}


def test_minhash_is_shard_independent_and_idempotent(planted: tuple[list[Record], dict[str, str]]) -> None:
    records, _ = planted
    params = DedupMinHashParams(keep={"policy": "longest"})
    kept1, dropped1 = run_global_step(DedupMinHash(params), records, shard_size=7)
    kept2, dropped2 = run_global_step(DedupMinHash(params), records, shard_size=500)
    assert ids(kept1) == ids(kept2)
    assert [d.detail for _, d in dropped1] == [d.detail for _, d in dropped2]
    again, none = run_global_step(DedupMinHash(params), kept1, shard_size=50)
    assert ids(again) == ids(kept1) and none == []


def test_threshold_controls_what_is_near() -> None:
    base = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi"
    other = base.replace("kappa", "rho")  # one word in 16: Jaccard of 3-grams 11/17 = 0.65
    recs = [chat("a", base, "x"), chat("b", other, "y"), chat("c", "", "z"), chat("d", "", "w")]
    kept, _ = run_global_step(DedupMinHash(DedupMinHashParams(threshold=0.8)), recs, 10)
    assert ids(kept) == ["a", "b", "c", "d"]  # empty prompts are never compared
    kept, dropped = run_global_step(DedupMinHash(DedupMinHashParams(threshold=0.5)), recs, 10)
    assert ids(kept) == ["a", "c", "d"]
    assert dropped[0][1].reason == "duplicate_near" and dropped[0][1].detail["duplicate_of"] == "a"


@pytest.mark.parametrize("bad", [{"threshold": 1.5}, {"num_perm": 4}, {"tokenize": "bytes"}, {"keep": "random"}])
def test_bad_params(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DedupMinHashParams.model_validate(bad)
