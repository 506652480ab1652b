"""The JSON Lines reader: exact behaviour on broken input, long lines, and the ground-truth file."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from datamill.io.read import RowStream, read_rows
from datamill.io.rows import RawRow
from datamill.io.sources import SourceFile
from fixtures.broken_jsonl import RECOVERED, write_broken_jsonl


def rows_of(path: Path, **options: Any) -> tuple[list[RawRow], RowStream]:
    stream = read_rows(SourceFile(str(path), path.name, "auto", dict(options)))
    return list(stream), stream


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("broken") / "broken.jsonl"
    return path, write_broken_jsonl(path)


def test_broken_file_counts_are_exact(broken: tuple[Path, dict[str, Any]]) -> None:
    path, truth = broken
    rows, stream = rows_of(path)
    assert truth["lines"] == 2000
    assert len(rows) == truth["rows"]
    assert sum(r.error is not None for r in rows) == truth["error_rows"] == stream.errors
    assert sum(r.error is None for r in rows) == truth["good_rows"] + truth["recovered_rows"] == stream.rows
    assert stream.blank_lines == truth["blank_lines"]
    assert stream.recovered == {k: v for k, v in truth["recovered"].items() if v}
    assert stream.bom is True
    assert stream.detections[0][1].file_format == "jsonl"


def test_broken_file_rows_match_their_lines(broken: tuple[Path, dict[str, Any]]) -> None:
    path, truth = broken
    rows, _ = rows_of(path)
    kinds, offsets = truth["kinds"], truth["offsets"]
    notes: Counter[str] = Counter()
    for row in rows:
        line = int(row.location.rsplit(":", 1)[1])
        kind = kinds[line]
        assert row.location == f"broken.jsonl:{line}"
        assert row.offset == offsets[line], line
        if kind.startswith("error"):
            assert row.error is not None and row.value is None, (line, kind)
            assert row.raw is not None and len(row.raw) <= 2000
            if kind == "error:utf8":
                assert row.error == f"invalid UTF-8 at byte {truth['invalid_utf8'][line]}"
            elif kind == "error:truncated":
                assert row.error.startswith("truncated JSON"), row.error
            elif kind == "error:not_object":
                assert row.error.startswith("not a JSON object (got "), row.error
            elif kind == "error:nul_only":
                assert row.error.startswith("line holds only NUL bytes")
        else:
            assert row.error is None and isinstance(row.value, dict), (line, kind, row.error)
            if kind in RECOVERED:
                assert row.note == f"recovered: {RECOVERED[kind]}"
                notes[kind] += 1
            elif line != 1:
                assert row.note is None, (line, row.note)
    assert rows[0].note == "UTF-8 BOM stripped" and rows[0].location == "broken.jsonl:1"
    assert sorted(notes.elements()) == sorted(k for k in kinds.values() if k in RECOVERED)
    big = [r for r in rows if int(r.location.rsplit(":", 1)[1]) in truth["big_lines"]]
    assert [len(r.value["text"].encode()) for r in big] == [9 * 1024 * 1024] * 2


QA = {"问": "肛门病变可能是什么疾病的症状？", "答": "食管克罗恩病"}


def test_gbk_line_in_utf8_file_is_recovered(tmp_path: Path) -> None:
    utf8 = '{"a": "中文"}'.encode()
    gbk = json.dumps(QA, ensure_ascii=False).encode("gbk")
    rows, stream = rows_of(write(tmp_path, "a.jsonl", utf8 + b"\n" + gbk + b"\n"))
    assert rows[1].value == QA
    assert rows[1].note == "recovered: decoded as GBK"
    assert stream.recovered == {"decoded as GBK": 1}


def test_whole_gbk_file_is_transcoded(tmp_path: Path) -> None:
    gbk = json.dumps(QA, ensure_ascii=False).encode("gbk")
    rows, stream = rows_of(write(tmp_path, "a.jsonl", b'{"a": 1}\n' + gbk + b"\n"))
    assert [r.value for r in rows] == [{"a": 1}, QA]
    assert rows[1].note is None and stream.recovered == {}
    assert stream.detections[0][1].options == {"encoding": "gb18030"}
    assert "GBK" in stream.detections[0][1].reason


def test_latin1_line_is_not_taken_for_gbk(tmp_path: Path) -> None:
    rows, _ = rows_of(write(tmp_path, "a.jsonl", b'{"a": 1}\n{"t": "r\xe9sum\xe9 d\xe9j\xe0 vu"}\n'))
    assert rows[1].error == "invalid UTF-8 at byte 17"
    assert rows[1].raw == '{"t": "r\\xe9sum\\xe9 d\\xe9j\\xe0 vu"}'


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"null", "not a JSON object (got null)"),
        (b"[1,2]", "not a JSON object (got array)"),
        (b'"str"', "not a JSON object (got string)"),
        (b"42", "not a JSON object (got number)"),
        (b"false", "not a JSON object (got boolean)"),
        (b'{"a": "b', "truncated JSON: the line ends at column 9 inside a value"),
        (b'{"a" 1}', "invalid JSON: unexpected character, expected ':' after key at column 6"),
        (b"\x00\x00", "line holds only NUL bytes (2)"),
    ],
)
def test_bad_lines_become_error_rows(tmp_path: Path, line: bytes, error: str) -> None:
    rows, stream = rows_of(write(tmp_path, "a.jsonl", b'{"ok": 1}\n' + line + b'\n{"ok": 2}\n'))
    assert [r.error for r in rows] == [None, error, None]
    assert rows[1].location == "a.jsonl:2" and rows[1].offset == 10
    assert stream.rows == 2 and stream.errors == 1


def test_crlf_blank_lines_and_no_final_newline(tmp_path: Path) -> None:
    data = b'{"a": 1}\r\n\r\n   \n{"a": 2}\r\n\n{"a": 3}'
    rows, stream = rows_of(write(tmp_path, "a.jsonl", data))
    assert [r.value for r in rows] == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert [r.location for r in rows] == ["a.jsonl:1", "a.jsonl:4", "a.jsonl:6"]
    assert [r.offset for r in rows] == [data.index(b'{"a": %d}' % i) for i in (1, 2, 3)] == [0, 16, 27]
    assert stream.blank_lines == 3 and not stream.bom


def test_bom_offsets(tmp_path: Path) -> None:
    rows, stream = rows_of(write(tmp_path, "a.jsonl", b'\xef\xbb\xbf{"a": 1}\n{"a": 2}\n'))
    assert [r.offset for r in rows] == [3, 12]
    assert stream.bom and rows[0].note == "UTF-8 BOM stripped" and rows[1].note is None


def test_long_lines_across_chunks(tmp_path: Path) -> None:
    big = "字" * (3 * 1024 * 1024)  # 9 MB of UTF-8
    data = b'{"i": 0}\n{"i": 1, "t": "' + big.encode() + b'"}\n{"i": 2}\n'
    rows, _ = rows_of(write(tmp_path, "a.jsonl", data))
    assert [r.value["i"] for r in rows] == [0, 1, 2]
    assert rows[1].value["t"] == big and rows[2].offset == len(data) - 9


def test_gzip_jsonl(tmp_path: Path) -> None:
    data = b"".join(b'{"i": %d}\n' % i for i in range(1000))
    rows, _ = rows_of(write(tmp_path, "a.jsonl.gz", gzip.compress(data)))
    assert [r.value["i"] for r in rows] == list(range(1000))
    assert rows[0].location == "a.jsonl.gz:1"
