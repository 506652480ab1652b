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
