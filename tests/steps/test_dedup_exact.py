from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from datamill.records import Record
from datamill.steps.dedup_exact import (
    DedupExact,
    DedupExactParams,
    Normalize,
    collapse_whitespace,
    normalize_text,
)

from .helpers import chat, ids, run_global_step


@pytest.mark.parametrize(
    ("text", "how", "expected"),
    [
        ("  Hello\n\tWORLD  ", {}, "hello world"),
        ("Ｈｅｌｌｏ　ｗｏｒｌｄ", {}, "hello world"),  # full-width letters and ideographic space
        ("ｶﾀｶﾅ", {}, "カタカナ"),
        ("Hello, world!", {}, "hello, world!"),
        ("Hello, world! ¿Qué? 「引用」", {"punctuation": True}, "hello world qué 引用"),
        ("Hello  World", {"lowercase": False, "whitespace": False}, "Hello  World"),
        ("Ｈｅｌｌｏ", {"width": False, "lowercase": False}, "Ｈｅｌｌｏ"),
    ],
)
def test_normalize(text: str, how: dict[str, bool], expected: str) -> None:
    assert normalize_text(text, Normalize(**how)) == expected


@pytest.mark.parametrize("text", ["", " ", "a  b", " a\tb ", "a\u3000b", "a\x1fb", "a\u2028b", "a\x85b"])
def test_collapse_whitespace_fast_path_matches_split(text: str) -> None:
    assert collapse_whitespace(text) == " ".join(text.split())
    ascii_space = {c for c in map(chr, range(128)) if c.isspace()}
    assert ascii_space == {" ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f"}


RECORDS = [
    chat("d:0", "What is 2+2?", "4"),
    chat("d:1", "what is 2+2?  ", "4"),  # same after normalization
    chat("d:2", "What is 2+2?", "Four"),  # same prompt, other answer
    chat("d:3", "Ｗｈａｔ ｉｓ ２+２?", "4"),  # full width
    chat("d:4", "", ""),  # empty: kept, never compared
    chat("d:5", "", ""),
    chat("d:6", "What is 2+2?", "4"),
    {"id": "d:7", "text": "pretrain"},
]


@pytest.mark.parametrize(
    ("params", "kept", "duplicate_of"),
    [
        ({}, "0 2 4 5 7", {"d:1": "d:0", "d:3": "d:0", "d:6": "d:0"}),
        ({"on": "prompt"}, "0 4 5 7", {"d:1": "d:0", "d:2": "d:0", "d:3": "d:0", "d:6": "d:0"}),
        ({"on": "answer"}, "0 2 4 5 7", {"d:1": "d:0", "d:3": "d:0", "d:6": "d:0"}),
        ({"normalize": {"lowercase": False, "width": False}}, "0 1 2 3 4 5 7", {"d:6": "d:0"}),
    ],
)
@pytest.mark.parametrize("shard_size", [1, 3, 100])
def test_dedup_exact(
    params: dict[str, Any], kept: str, duplicate_of: dict[str, str], shard_size: int
) -> None:
    out, dropped = run_global_step(DedupExact(DedupExactParams.model_validate(params)), RECORDS, shard_size)
    assert ids(out) == [f"d:{i}" for i in kept.split()]
    assert {r["id"]: d.detail["duplicate_of"] for r, d in dropped} == duplicate_of
    assert {d.reason for _, d in dropped} == {"duplicate_exact"}


def test_on_field_paths() -> None:
    records = [{"id": f"f:{i}", "meta": {"url": f"u{i % 2}"}, "category": "x"} for i in range(5)]
    records.append({"id": "f:5", "meta": {}, "category": "x"})
    out, dropped = run_global_step(DedupExact(DedupExactParams(on=["meta.url", "category"])), records, 2)
    assert ids(out) == ["f:0", "f:1", "f:5"]
    duplicate_of = {r["id"]: d.detail["duplicate_of"] for r, d in dropped}
    assert duplicate_of == {"f:2": "f:0", "f:3": "f:1", "f:4": "f:0"}


def test_parts_are_compared_separately() -> None:
    records = [chat("p:0", "a b", "c"), chat("p:1", "a", "b c")]
    out, _ = run_global_step(DedupExact(DedupExactParams()), records, 10)
    assert ids(out) == ["p:0", "p:1"]


def test_report_lists_largest_groups() -> None:
    records: list[Record] = [chat(f"r:{i}", f"q{i % 3 if i < 9 else i}", "a") for i in range(12)]
    step = DedupExact(DedupExactParams(on="prompt"))
    run_global_step(step, records, 4)
    report = step.report()
    assert report["duplicate_groups"] == 3 and report["duplicates_dropped"] == 6
    assert report["largest_groups"] == [{"kept": "r:0", "size": 3}, {"kept": "r:1", "size": 3},
                                        {"kept": "r:2", "size": 3}]
    assert report["seen"] == 12 and report["empty_not_compared"] == 0


def test_empty_input() -> None:
    step = DedupExact(DedupExactParams())
    assert run_global_step(step, [], 10) == ([], [])
    assert step.report()["duplicate_groups"] == 0


@pytest.mark.parametrize("params", [{"on": []}, {"on": ""}, {"keep": "last"}, {"normalize": {"case": True}}])
def test_invalid_params(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DedupExactParams.model_validate(params)
