"""The streaming JSON reader: arrays, concatenated objects, keyed records, huge values, broken files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.io.read import RowStream, read_rows
from datamill.io.readers import json_values
from datamill.io.report import ReadReport
from datamill.io.rows import RawRow
from datamill.io.sources import SourceFile


def read(
    tmp_path: Path, data: bytes | str, name: str = "a.json", **options: Any
) -> tuple[list[RawRow], RowStream]:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    stream = read_rows(SourceFile(str(path), name, "auto", dict(options)))
    return list(stream), stream


RECORDS = [{"instruction": f"q{i}", "output": "答" * i} for i in range(50)]


@pytest.mark.parametrize("indent", [None, 2, 4])
def test_array(tmp_path: Path, indent: int | None) -> None:
    text = json.dumps(RECORDS, ensure_ascii=False, indent=indent)
    rows, stream = read(tmp_path, text)
    assert [r.value for r in rows] == RECORDS
    assert [r.location for r in rows[:2]] == ["a.json#0", "a.json#1"]
    data = text.encode()
    assert rows[1].offset == data.index(b'{', data.index(b'"q0"'))
    assert stream.detections[0][1].file_format == "json"


def test_concatenated_pretty_objects(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(r, ensure_ascii=False, indent=2) for r in RECORDS)
    rows, _ = read(tmp_path, text)
    assert [r.value for r in rows] == RECORDS


def test_concatenated_objects_on_one_line(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, '{"a": 1}{"a": 2} {"a": 3}\n')
    assert [r.value for r in rows] == [{"a": 1}, {"a": 2}, {"a": 3}]


def test_keyed_records(tmp_path: Path) -> None:
    data = {"k1": {"articleBody": "x", "url": "u1"}, "k2": {"articleBody": "y", "url": "u2"}}
    rows, _ = read(tmp_path, json.dumps(data, indent=4))
    assert [r.value for r in rows] == [{"_key": "k1", "articleBody": "x", "url": "u1"},
                                       {"_key": "k2", "articleBody": "y", "url": "u2"}]


def test_single_object_is_one_row(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, json.dumps({"meta": {"a": 1}, "text": "hello"}, indent=2))
    assert [r.value for r in rows] == [{"meta": {"a": 1}, "text": "hello"}]


def test_object_with_a_non_object_value_is_one_record(tmp_path: Path) -> None:
    text = '{"a": {"x": 1}, "b": {"x": 2}, "c": 3}'
    rows, _ = read(tmp_path, text)
    assert [r.value for r in rows] == [{"a": {"x": 1}, "b": {"x": 2}, "c": 3}]
    rows, _ = read(tmp_path, text, json_shape="keyed")
    assert [r.error for r in rows] == [None, None, "not a JSON object (the value of key 'c' is number)"]


def test_nine_megabyte_record_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = "汉" * (3 * 1024 * 1024)
    records = [{"i": 0}, {"i": 1, "text": big}, {"i": 2}]
    reads: list[int] = []

    class Counting:
        def __init__(self, data: bytes) -> None:
            self.data, self.pos = data, 0

        def read(self, size: int = -1) -> bytes:
            chunk = self.data[self.pos : self.pos + size]
            self.pos += len(chunk)
            reads.append(len(chunk))
            return chunk

    data = json.dumps(records, ensure_ascii=False, indent=1).encode()
    report = ReadReport()
    rows = list(json_values.read_json_values(Counting(data), "big.json", {}, report))
    assert [r.value for r in rows] == records
    assert rows[2].offset == data.rindex(b"{")
    assert max(reads) < len(data) // 2, "the file must be read in pieces, not at once"


def test_broken_item_in_pretty_array_resynchronises(tmp_path: Path) -> None:
    text = '[\n  {"a": 1},\n  {"a": 2, oops},\n  {"a": 3}\n]\n'
    rows, stream = read(tmp_path, text)
    assert [r.value for r in rows] == [{"a": 1}, None, {"a": 3}]
    assert rows[1].error is not None and rows[1].error.startswith("invalid JSON")
    assert rows[1].raw is not None and rows[1].raw.startswith('{"a": 2, oops}')
    assert stream.errors == 1 and stream.rows == 2


def test_truncated_array(tmp_path: Path) -> None:
    text = json.dumps(RECORDS[:3], indent=2)[:-20]
    rows, stream = read(tmp_path, text)
    assert [r.value for r in rows[:2]] == RECORDS[:2]
    assert rows[2].error == "truncated JSON at the end of the file"
    assert stream.errors == 1


def test_unclosed_array_is_noted(tmp_path: Path) -> None:
    rows, stream = read(tmp_path, '[{"a": 1},\n{"a": 2}\n')
    assert [r.value for r in rows] == [{"a": 1}, {"a": 2}]
    assert stream.report.notes == ["the JSON array is not closed with ']'"]


def test_array_items_that_are_not_objects(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, '[{"a": 1}, null, [1, 2], "s", 4]')
    assert [r.error for r in rows] == [None] + [f"not a JSON object (got {t})" for t in
                                                ("null", "array", "string", "number")]


def test_bom_and_invalid_utf8(tmp_path: Path) -> None:
    rows, stream = read(tmp_path, b'\xef\xbb\xbf[{"a": "x\xffy"}]')
    assert rows[0].value == {"a": "x\ufffdy"} and rows[0].offset == 4
    assert stream.bom
    assert "invalid UTF-8 bytes were replaced with U+FFFD" in stream.report.notes


def test_forced_shape(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, '{"k": {"a": 1}}', json_shape="keyed")
    assert [r.value for r in rows] == [{"_key": "k", "a": 1}]


def test_concatenated_objects_with_object_fields_are_not_keyed(tmp_path: Path) -> None:
    records = [{"meta": {"a": i}, "info": {"b": i}, "text": f"t{i}"} for i in range(3)]
    rows, _ = read(tmp_path, "\n".join(json.dumps(r, indent=2) for r in records))
    assert [r.value for r in rows] == records


def test_huge_keyed_document_is_judged_by_its_first_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_values, "SHAPE_WINDOW", 1000)
    data = {f"k{i}": {"body": "x" * 300} for i in range(20)}
    rows, _ = read(tmp_path, json.dumps(data, indent=2))
    assert [r.value["_key"] for r in rows] == [f"k{i}" for i in range(20)]
