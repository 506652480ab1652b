"""Plain text (per line and per file) and Parquet."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from datamill.io.read import RowStream, read_rows
from datamill.io.rows import RawRow
from datamill.io.sources import SourceFile


def read(path: Path, file_format: str = "auto", **options: Any) -> tuple[list[RawRow], RowStream]:
    stream = read_rows(SourceFile(str(path), path.name, file_format, dict(options)))
    return list(stream), stream


def test_text_lines(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(b"\xef\xbb\xbffirst line\r\n\r\n  second, indented  \n\nthird")
    rows, stream = read(path)
    assert stream.detections[0][1].file_format == "text-lines"
    assert [r.value["text"] for r in rows] == ["first line", "  second, indented  ", "third"]
    assert [r.location for r in rows] == ["doc.txt:1", "doc.txt:3", "doc.txt:5"]
    assert [r.offset for r in rows] == [3, 17, 39]
    assert stream.blank_lines == 2 and stream.bom


def test_text_lines_gbk_and_invalid(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    gbk = "传染病是指由病原微生物引起的疾病。\n".encode("gbk")
    path.write_bytes("正常的行\n".encode() + gbk + b"caf\xe9 \xff\n")
    rows, stream = read(path)
    assert rows[1].value == {"text": "传染病是指由病原微生物引起的疾病。"}
    assert rows[1].note == "recovered: decoded as GBK"
    assert rows[2].error is not None and rows[2].error.startswith("invalid UTF-8 at byte")
    assert stream.recovered == {"decoded as GBK": 1} and stream.errors == 1


def test_text_file_option_and_forced_format(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text("para one\n\npara two\n", encoding="utf-8")
    rows, _ = read(path, text_unit="file")
    assert [r.value for r in rows] == [{"text": "para one\n\npara two\n"}]
    rows, _ = read(path, file_format="text-file")
    assert [r.value for r in rows] == [{"text": "para one\n\npara two\n"}]
    assert rows[0].location == "doc.txt"


def test_html_is_one_document(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<html>\n<body><p>Hi</p></body>\n</html>\n", encoding="utf-8")
    rows, stream = read(path)
    assert stream.detections[0][1].file_format == "text-file"
    assert len(rows) == 1 and rows[0].value["text"].startswith("<html>")


def _table(n: int) -> pa.Table:
    return pa.table({"id": list(range(n)), "text": [f"row {i}" for i in range(n)], "tags": [["a"]] * n})


def test_parquet_batches(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(_table(2500), path, row_group_size=1000)
    rows, stream = read(path, batch_size=300)
    assert len(rows) == 2500 and stream.rows == 2500
    assert rows[1234].value == {"id": 1234, "text": "row 1234", "tags": ["a"]}
    assert rows[1234].location == "data.parquet#1234"
    assert stream.detections[0][1].file_format == "parquet"


def test_parquet_detected_by_magic_and_columns_option(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    pq.write_table(_table(3), path)
    rows, _ = read(path, columns=["text"])
    assert [r.value for r in rows] == [{"text": "row 0"}, {"text": "row 1"}, {"text": "row 2"}]


def test_parquet_inside_tar(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pq.write_table(_table(5), buffer)
    path = tmp_path / "bundle.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("part/0.parquet")
        info.size = len(buffer.getvalue())
        tar.addfile(info, io.BytesIO(buffer.getvalue()))
    rows, _ = read(path)
    assert [r.value["id"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0].location == "bundle.tar.gz!part/0.parquet#0"


def test_corrupt_parquet_is_an_error_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 100)
    rows, stream = read(path)
    assert len(rows) == 1 and rows[0].error is not None and rows[0].error.startswith("cannot read Parquet")
    assert stream.errors == 1
