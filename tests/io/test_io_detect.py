"""Container detection: extension and content, reasons, confidence, and options that force a choice."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from datamill.errors import FormatDetectionError
from datamill.io.detect import detect_file_format, sniff

RECS = [{"q": f"question {i}", "a": f"answer {i}"} for i in range(300)]
JSONL = "".join(json.dumps(r) + "\n" for r in RECS)


def detect(
    tmp_path: Path, name: str, data: bytes | str, **options: object
) -> tuple[str, dict[str, object], str]:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    found = detect_file_format(str(path), options)
    assert 0 < found.confidence <= 1
    return found.file_format, found.options, found.reason


@pytest.mark.parametrize("name", ["a.jsonl", "a.json", "a.txt", "a", "a.ndjson"])
def test_jsonl_whatever_the_name(tmp_path: Path, name: str) -> None:
    fmt, _, reason = detect(tmp_path, name, JSONL)
    assert fmt == "jsonl"
    assert reason == "first 200 non-blank lines are JSON objects"


def test_json_shapes(tmp_path: Path) -> None:
    assert detect(tmp_path, "a.json", json.dumps(RECS, indent=2))[0] == "json"
    fmt, _, reason = detect(tmp_path, "b.json", "\n".join(json.dumps(r, indent=2) for r in RECS))
    assert fmt == "json" and reason.startswith("concatenated JSON objects")
    keyed = {f"k{i}": r for i, r in enumerate(RECS[:5])}
    fmt, _, reason = detect(tmp_path, "c.json", json.dumps(keyed, indent=4))
    assert fmt == "json" and "keyed records" in reason
    fmt, _, reason = detect(tmp_path, "d.json", json.dumps({"a": 1, "b": [1, 2]}, indent=2))
    assert fmt == "json" and reason == "a single JSON object (one row)"
    fmt, _, reason = detect(tmp_path, "e.json", '{"a": 1}{"a": 2}')
    assert reason.startswith("concatenated JSON objects")


def test_big_keyed_object_is_recognised_from_its_head(tmp_path: Path) -> None:
    keyed = {f"k{i}": {"articleBody": "x" * 2000, "url": f"u{i}"} for i in range(100)}
    _, _, reason = detect(tmp_path, "gt.json", json.dumps(keyed, indent=4))
    assert "keyed records" in reason


def test_huge_first_line(tmp_path: Path) -> None:
    data = json.dumps({"t": "x" * 200_000}) + "\n" + JSONL
    assert detect(tmp_path, "a.jsonl", data)[0] == "jsonl"
    assert detect(tmp_path, "a.json", data)[0] == "json"  # the JSON values reader copes with either


def test_array_with_huge_first_element(tmp_path: Path) -> None:
    data = json.dumps([{"t": "x" * 200_000}, {"t": "y"}])
    fmt, _, reason = detect(tmp_path, "a.json", data)
    assert fmt == "json" and "longer than 64 KB" in reason


def test_text_that_starts_with_a_bracket(tmp_path: Path) -> None:
    assert detect(tmp_path, "lyrics.txt", "[Chorus]\nla la la\n")[0] == "text-lines"


def test_tables(tmp_path: Path) -> None:
    fmt, options, reason = detect(tmp_path, "a.tsv", "system score seg\nA 1.0 1\nB 2.0 2\nC 3.0 3\n")
    assert fmt == "csv" and options["delimiter"] == "whitespace" and options["header"] is True
    assert "spaces" in reason
    fmt, options, _ = detect(tmp_path, "b.csv", "\ufeffa;b\n1;2\n3;4\n")
    assert fmt == "csv" and options == {"delimiter": ";", "quoting": True, "header": True}


def test_header_row_mismatch_is_reported(tmp_path: Path) -> None:
    data = "a\tb\tc\n" + "".join(f"{i}\tx{i}\n" for i in range(20))
    _, _, reason = detect(tmp_path, "m.tsv", data)
    assert "the first row has 3 fields but most rows have 2" in reason


def test_plain_text_and_documents(tmp_path: Path) -> None:
    prose = "It was a dark and stormy night; the rain fell in torrents.\nExcept at intervals.\n" * 5
    assert detect(tmp_path, "novel.txt", prose)[0] == "text-lines"
    assert detect(tmp_path, "novel", prose)[0] == "text-lines"
    assert detect(tmp_path, "page.html", "<html><body>x</body></html>")[0] == "text-file"
    assert detect(tmp_path, "novel.txt", prose, text_unit="file")[0] == "text-file"


def test_compressed_and_empty(tmp_path: Path) -> None:
    assert detect(tmp_path, "a.jsonl.gz", gzip.compress(JSONL.encode()))[0] == "jsonl"
    fmt, _, reason = detect(tmp_path, "empty.jsonl", b"")
    assert fmt == "jsonl" and reason == "file is empty"


def test_encodings(tmp_path: Path) -> None:
    gbk = "第一章\n传染病是指由病原微生物引起的疾病。\n".encode("gbk")
    _, options, reason = detect(tmp_path, "zh.txt", gbk)
    assert options == {"encoding": "gb18030"} and "GBK" in reason
    _, options, _ = detect(tmp_path, "u16.csv", "a,b\n1,2\n".encode("utf-16"))
    assert options["encoding"] == "utf-16"


def test_recipe_options_win(tmp_path: Path) -> None:
    _, options, _ = detect(tmp_path, "a.csv", "a,b\n1,2\n", delimiter=";", header=False, encoding="latin-1")
    assert options["delimiter"] == ";" and options["header"] is False and options["encoding"] == "latin-1"
    found = sniff("x.csv", b"a,b\n1,2\n", True, {}, file_format="jsonl")
    assert found.file_format == "jsonl" and found.reason.startswith("file_format set in the recipe")


def test_binary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatDetectionError, match="binary"):
        detect(tmp_path, "blob.bin", bytes(range(256)) * 40)


def test_huge_second_line(tmp_path: Path) -> None:
    data = JSONL.split("\n")[0] + "\n" + json.dumps({"t": "x" * 200_000}) + "\n" + JSONL
    assert detect(tmp_path, "a.jsonl", data)[0] == "jsonl"
    fmt, _, reason = detect(tmp_path, "a.json", data)
    assert fmt == "json" and "longer than 64 KB" in reason
