"""The string column of dedup reduces and the worker-side packing of MinHash signatures."""

from __future__ import annotations

from typing import Any

import numpy as np

from datamill.records import Record
from datamill.steps.base import ShardSignatures
from datamill.steps.dedup.minhash import DedupMinHash, DedupMinHashParams
from datamill.steps.dedup.minhash_shard import MinHashShard
from datamill.steps.dedup.strings import StringColumn
from steps.helpers import chat


def test_string_column_returns_strings_in_the_order_asked() -> None:
    col = StringColumn()
    col.add("a", ["x", "", "ünï", "中文"])
    col.add("b", [])
    col.add("c", ["\ud800lone", "last"])
    assert len(col) == 6 and col.names == ["a", "b", "c"]
    assert col.get_many([5, 0, 3, 4, 1, 2, 0]) == ["last", "x", "中文", "\ud800lone", "", "ünï", "x"]
    assert col.get_many(np.zeros(0, dtype=np.int64)) == []
    assert col.get(2) == "ünï"


def _records(n: int) -> list[Record]:
    texts = ["the quick brown fox jumps over the lazy dog today", "敏捷的棕色狐狸跳过了那只懒惰的狗今天", ""]
    return [chat(f"r{i}", texts[i % 3] + (f" {i // 6}" if i % 2 and i % 3 != 2 else ""), "a", source=f"s{i % 2}")
            for i in range(n)]


def test_packed_shards_give_the_same_groups_as_plain_lists() -> None:
    step = DedupMinHash(DedupMinHashParams(on="prompt"))
    step.setup()
    records = _records(40)
    shards = [("s0", records[:25]), ("s1", records[25:])]
    plain = step.groups(iter(ShardSignatures(name, step.signature_batch(rs)) for name, rs in shards))
    packed_shards: list[ShardSignatures[Any]] = [ShardSignatures(name, step.pack(step.signature_batch(rs)))  # type: ignore[arg-type]
                                                 for name, rs in shards]
    assert all(isinstance(s.signatures, MinHashShard) for s in packed_shards)
    packed = step.groups(iter(packed_shards))
    assert np.array_equal(plain.labels, packed.labels)
    assert plain.extra == packed.extra and plain.extra["verified_pairs"] > 0
    assert packed.members.ids.get_many(range(40)) == [r["id"] for r in records]
    assert packed.members.source_names == ["s0", "s1"]
    assert packed.members.preview([1])[0].startswith("敏捷的棕色狐狸")
    empty = packed_shards[0].signatures
    assert isinstance(empty, MinHashShard)
    assert not empty.valid[2] and not empty.digests[2].any()  # the empty text: never compared


def test_batch_signatures_equal_one_by_one_for_several_parts() -> None:
    """The batch path normalizes every part of every record in one pass: it must give each record the
    signature it gets alone (parts empty, punctuation-only, Chinese, long)."""
    step = DedupMinHash(DedupMinHashParams(on="prompt+answer", keep="longest"))
    step.setup()
    prompts = ["", "Hello, WORLD!", "  ", "敏捷的棕色狐狸跳过了懒狗。", "x " * 300, "?!"]
    answers = ["answer one", "", "Ünïcode ｆｕｌｌ", "", "y", "!!"]
    records = [chat(f"r{i}", p, a) for i, (p, a) in enumerate((p, a) for p in prompts for a in answers)]
    batch = step.signature_batch(records)
    alone = [step.signature(r) for r in records]
    assert batch == alone
    assert sum(s[0] is None for s in batch) == 3 * 3  # no words left on either side: "", blank, punctuation
    assert len({s[4] for s in batch}) > 3  # keep: longest gives different priorities


def test_threaded_bands_and_packed_sort_match_the_plain_argsort() -> None:
    """Bands on threads and the packed key+position sort give exactly the pairs of a stable argsort."""
    from datamill.steps.dedup.lsh import candidate_edges, sorted_unique

    rng = np.random.default_rng(5)
    n = 120_000
    keys = rng.integers(0, 40_000, (n, 4)).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # buckets of ~3
    keys[:, 3] = rng.integers(0, 8, n).astype(np.uint64)  # keys differing only in low bits: exact fallback
    valid = rng.random(n) > 0.1
    one = candidate_edges(keys, valid, threads=1)
    two = candidate_edges(keys, valid, threads=2)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    expected = []
    pos = np.flatnonzero(valid)
    for band in range(4):
        col = keys[pos, band]
        order = np.argsort(col, kind="stable")
        k = col[order]
        start = np.concatenate(([True], k[1:] != k[:-1]))
        first = pos[order[np.maximum.accumulate(np.where(start, np.arange(len(k)), 0))]]
        a, b = first[~start], pos[order[~start]]
        expected.append(np.minimum(a, b) * n + np.maximum(a, b))
    codes = sorted_unique(np.concatenate(expected))
    assert np.array_equal(one[0], codes // n) and np.array_equal(one[1], codes % n)


def test_labels_csv_fast_path_equals_the_csv_module() -> None:
    import csv
    import io

    from datamill.steps.dedup.groups import LabelRows

    for ids in (["a", "b", "c"], ["a,1", 'b"x', "c\nd"]):
        rows = LabelRows(ids, np.array([2, 0, 1]), np.array([0, 0, 1]), np.array([2, 2, 1]),
                         np.array([1.0, 0.8125, 0.1]))
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        assert rows.csv_lines() == buf.getvalue()
        assert list(csv.reader(io.StringIO(rows.csv_lines())))[1] == [ids[0], "0", ids[2], "0.8125"]
