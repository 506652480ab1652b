"""Delimited text: delimiters, headers, quoting, bad rows, encodings and the options that force them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datamill.io.read import RowStream, read_rows
from datamill.io.rows import RawRow
from datamill.io.sources import SourceFile


def read(
    tmp_path: Path, data: bytes | str, name: str = "t.csv", file_format: str = "auto", **options: Any
) -> tuple[list[RawRow], RowStream]:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    stream = read_rows(SourceFile(str(path), name, file_format, dict(options)))
    return list(stream), stream


@pytest.mark.parametrize(
    ("delimiter", "name", "file_format"),
    [(",", "t.csv", "csv"), ("\t", "t.tsv", "tsv"), (";", "t.csv", "csv"), ("|", "t.txt.psv", "csv"),
     ("\t", "t.dat", "tsv"), (";", "noext", "csv")],
)
def test_delimiters_are_detected(tmp_path: Path, delimiter: str, name: str, file_format: str) -> None:
    body = [[str(i), f"what is {i} plus {i}", f"it is {2 * i}"] for i in range(20)]
    lines = [["id", "question", "answer"], *body]
    text = "\n".join(delimiter.join(cells) for cells in lines) + "\n"
    rows, stream = read(tmp_path, text, name)
    detection = stream.detections[0][1]
    assert detection.file_format == file_format, detection
    assert detection.options["delimiter"] == delimiter and detection.options["header"] is True
    assert len(rows) == 20
    assert rows[3].value == {"id": "3", "question": "what is 3 plus 3", "answer": "it is 6"}
    assert rows[3].location == f"{name}:5"


def test_runs_of_spaces_and_tabs(tmp_path: Path) -> None:
    text = "system mqm_avg_score seg_id\nBorderline\tNone 1\nref-B\t-0.000000 198\nA  1.5   3\n"
    rows, stream = read(tmp_path, text, "scores.tsv")
    assert stream.detections[0][1].options["delimiter"] == "whitespace"
    assert [r.value for r in rows] == [
        {"system": "Borderline", "mqm_avg_score": "None", "seg_id": "1"},
        {"system": "ref-B", "mqm_avg_score": "-0.000000", "seg_id": "198"},
        {"system": "A", "mqm_avg_score": "1.5", "seg_id": "3"},
    ]


def test_bom_quotes_and_multiline_cells(tmp_path: Path) -> None:
    text = '\ufefftext,split\n"a, b",x\n"line1\nline2 ""quoted""",y\nplain,z\n'
    rows, stream = read(tmp_path, text)
    assert [r.value for r in rows] == [
        {"text": "a, b", "split": "x"},
        {"text": 'line1\nline2 "quoted"', "split": "y"},
        {"text": "plain", "split": "z"},
    ]
    assert [r.location for r in rows] == ["t.csv:2", "t.csv:3", "t.csv:5"]
    assert rows[0].offset == 3 + len(b"text,split\n") and stream.bom


def test_header_detection_without_header(tmp_path: Path) -> None:
    rows, stream = read(tmp_path, "1,2.5,x\n2,3.5,y\n3,4.5,z\n")
    assert stream.detections[0][1].options["header"] is False
    assert rows[0].value == {"column_1": "1", "column_2": "2.5", "column_3": "x"}


def test_header_option_forces(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, "a,b\nc,d\n", header=True)
    assert [r.value for r in rows] == [{"a": "c", "b": "d"}]
    rows, _ = read(tmp_path, "a,b\nc,d\n", header=False)
    assert [r.value for r in rows] == [{"column_1": "a", "column_2": "b"}, {"column_1": "c", "column_2": "d"}]


def test_wrong_column_count_is_an_error_row(tmp_path: Path) -> None:
    rows, stream = read(tmp_path, "a,b\n1,2\n1,2,3\n4\n5,6\n")
    assert [r.error for r in rows] == [None, "expected 2 columns, got 3", "expected 2 columns, got 1", None]
    assert rows[1].raw == "1,2,3" and rows[1].location == "t.csv:3" and rows[1].offset == 8
    assert stream.rows == 2 and stream.errors == 2


def test_ragged_option(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, "a,b\n1,2,3\n4\n", ragged=True)
    assert [r.value for r in rows] == [{"a": "1", "b": "2", "_extra": ["3"]}, {"a": "4", "b": None}]


def test_values_stay_strings_unless_infer_types(tmp_path: Path) -> None:
    text = "n,f,b,e,s\n007,1.50,true,,x\n"
    rows, _ = read(tmp_path, text)
    assert rows[0].value == {"n": "007", "f": "1.50", "b": "true", "e": "", "s": "x"}
    rows, _ = read(tmp_path, text, infer_types=True)
    assert rows[0].value == {"n": 7, "f": 1.5, "b": True, "e": None, "s": "x"}


def test_blank_lines_and_crlf(tmp_path: Path) -> None:
    rows, stream = read(tmp_path, "a,b\r\n1,2\r\n\r\n3,4\r\n")
    assert [r.value for r in rows] == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert stream.blank_lines == 1 and rows[1].location == "t.csv:4"


def test_tsv_keeps_stray_quotes(tmp_path: Path) -> None:
    text = 'src\ttgt\n"Hello," he said\tHallo, sagte er\nplain text\t"x"y z\n'
    rows, stream = read(tmp_path, text, "t.tsv")
    assert stream.detections[0][1].options["quoting"] is False
    assert [r.value for r in rows] == [{"src": '"Hello," he said', "tgt": "Hallo, sagte er"},
                                       {"src": "plain text", "tgt": '"x"y z'}]


def test_forced_delimiter_names(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, "a|b\n1|2\n", "x.txt", file_format="csv", delimiter="pipe")
    assert [r.value for r in rows] == [{"a": "1", "b": "2"}]
    rows, _ = read(tmp_path, "a\tb\n1\t2\n", "x.txt", file_format="tsv")
    assert [r.value for r in rows] == [{"a": "1", "b": "2"}]


def test_invalid_utf8_and_gbk_rows(tmp_path: Path) -> None:
    data = "name,text\nok,中文\n".encode() + "gbk,汉字内容，测试。\n".encode("gbk") + b"bad,caf\xe9\n"
    rows, stream = read(tmp_path, data)
    assert rows[0].value == {"name": "ok", "text": "中文"}
    assert rows[1].value == {"name": "gbk", "text": "汉字内容，测试。"}
    assert rows[1].note == "recovered: decoded as GBK"
    assert rows[2].error == f"invalid UTF-8 at byte {data.index(b'caf') + 3}"
    assert stream.recovered == {"decoded as GBK": 1}


def test_encoding_option_transcodes(tmp_path: Path) -> None:
    data = "name;city\nJosé;Málaga\n".encode("latin-1")
    rows, _ = read(tmp_path, data, encoding="latin-1")
    assert rows[0].value == {"name": "José", "city": "Málaga"}


def test_large_cell(tmp_path: Path) -> None:
    big = "x" * 300_000
    rows, _ = read(tmp_path, f'a,b\n"{big}",1\n')
    assert rows[0].value == {"a": big, "b": "1"}
