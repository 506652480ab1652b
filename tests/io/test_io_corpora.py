"""Detection and row counts on every file listed in ``../shared/corpora/MANIFEST.md``.

The expected container comes from the manifest's "format" column and the expected count from its
"records" column. Where the data disagrees with the manifest, the disagreement is asserted as it is
(see ``DISAGREEMENTS``) rather than hidden.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from datamill.io.detect import detect_file_format
from datamill.io.read import read_rows
from datamill.io.sources import SourceFile

# manifest format prefix -> (file_format, extra detected options)
CONTAINERS: dict[str, tuple[str, dict[str, Any]]] = {
    "JSONL": ("jsonl", {}),
    "JSON array": ("json", {}),
    "JSON object": ("json", {}),
    "CSV": ("csv", {"delimiter": ","}),
    "TSV": ("tsv", {"delimiter": "\t"}),
    "space-separated text": ("csv", {"delimiter": "whitespace"}),
    "plain text": ("text-lines", {}),
    "HTML page (gzip)": ("text-file", {}),
}

#: file -> why the rows do not match the manifest, and what the reader reports instead
DISAGREEMENTS = {
    # The header names 9 columns but every data row has 8 tab-separated fields (7 values and an empty
    # last one): seg_id and rater are missing. Strict reading quarantines all 193 rows.
    "7_wmt_mqm/mqm_newstest2020_zhen.source-errors.tsv": "expected 9 columns, got 8",
}


# the same default as the ``corpora`` fixture; needed here at collection time for parametrize
_DEFAULT_CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
CORPORA_DIR = Path(os.environ.get("DATAMILL_CORPORA") or _DEFAULT_CORPORA)


def manifest_rows() -> list[tuple[str, int, str]]:
    path = CORPORA_DIR / "MANIFEST.md"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 10 or not cells[0].isdigit():
            continue
        rows.append((cells[2], int(cells[8]), cells[9].split(":")[0]))
    return rows


MANIFEST = manifest_rows()


def test_manifest_was_parsed(corpora: Path) -> None:
    assert len(MANIFEST) >= 50
    assert all(kind in CONTAINERS for _, _, kind in MANIFEST), {k for _, _, k in MANIFEST} - set(CONTAINERS)


@pytest.mark.parametrize(("name", "records", "kind"), MANIFEST, ids=[m[0] for m in MANIFEST])
def test_corpus_file(corpora: Path, name: str, records: int, kind: str) -> None:
    path = corpora / name
    expected_format, expected_options = CONTAINERS[kind]
    detection = detect_file_format(str(path))
    assert detection.file_format == expected_format, detection
    for key, value in expected_options.items():
        assert detection.options.get(key) == value, detection
    assert detection.confidence >= 0.8, detection
    if expected_format in ("csv", "tsv"):
        assert detection.options["header"] is True, detection

    stream = read_rows(SourceFile(str(path), name, "auto", {}))
    rows = list(stream)
    good = [r for r in rows if r.error is None]
    if name in DISAGREEMENTS:
        assert len(good) == 0 and len(rows) == records
        assert {r.error for r in rows} == {DISAGREEMENTS[name]}
        ragged = list(read_rows(SourceFile(str(path), name, "auto", {"ragged": True})))
        assert len(ragged) == records and all(r.error is None for r in ragged)
        return
    assert len(good) == records == stream.rows
    assert stream.errors == 0 and not stream.recovered
    assert all(isinstance(r.value, dict) for r in good)


def test_named_examples(corpora: Path) -> None:
    """The examples called out in the brief, spelled out."""
    cases = {
        "4_gsm8k/test.jsonl": ("jsonl", 1319),
        "5_medicalgpt/medical_corpus.txt": ("jsonl", 87),
        "8_medicalgpt_pretrain/fever.txt": ("text-lines", 985),
        "7_wmt_mqm/mqm_ted_zhen.tsv": ("tsv", 9915),
        "7_wmt_mqm/mqm_ted_zhen.avg_seg_scores.tsv": ("csv", 12645),
        "8_html_article_benchmark/ground-truth.json": ("json", 181),
        "4_ascend_arith_zh/test-v2.json": ("jsonl", 1992),
    }
    for name, (fmt, count) in cases.items():
        stream = read_rows(SourceFile(str(corpora / name), name, "auto", {}))
        rows = list(stream)
        assert stream.detections[0][1].file_format == fmt, name
        assert len(rows) == count, name
    first = next(iter(read_rows(SourceFile(str(corpora / "8_html_article_benchmark/ground-truth.json"),
                                           "gt.json", "auto", {}))))
    assert set(first.value) == {"_key", "articleBody", "url"}
    assert first.value["_key"] == "042bb7b5fedab6eac7db576522b89b93904c237d344bcbe14a6a5ab7f7335856"
    fever = read_rows(SourceFile(str(corpora / "8_medicalgpt_pretrain/fever.txt"), "fever.txt", "auto", {}))
    assert sum(1 for _ in fever) == 985 and fever.blank_lines == 11
