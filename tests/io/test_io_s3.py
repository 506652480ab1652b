"""Reading from a real (local) S3 server: globs, compression, archives, fingerprints, errors."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from datamill.errors import InputError
from datamill.io.detect import detect_file_format
from datamill.io.read import read_rows
from datamill.io.sources import expand_input, input_fingerprint
from datamill.recipe.model import InputSpec

if TYPE_CHECKING:
    from conftest import S3Bucket

pytest.importorskip("s3fs")


def _jsonl(start: int, n: int) -> bytes:
    return b"".join(b'{"i": %d}\n' % i for i in range(start, start + n))


def test_glob_of_gzipped_jsonl(s3: S3Bucket, tmp_path: Path) -> None:
    s3.put("logs/b.jsonl.gz", gzip.compress(_jsonl(100, 50)))
    s3.put("logs/a.jsonl.gz", gzip.compress(_jsonl(0, 100)))
    s3.put("logs/other.csv", b"x\n1\n")
    s3.put("logs/sub/c.jsonl.gz", gzip.compress(_jsonl(150, 5)))

    files = expand_input(InputSpec(path=f"s3://{s3.bucket}/logs/*.jsonl.gz"), tmp_path)
    assert [f.url for f in files] == [f"s3://{s3.bucket}/logs/a.jsonl.gz", f"s3://{s3.bucket}/logs/b.jsonl.gz"]
    assert files[0].display == files[0].url
    values = [r.value["i"] for f in files for r in read_rows(f)]
    assert values == list(range(150))
    first = next(iter(read_rows(files[0])))
    assert first.location == f"s3://{s3.bucket}/logs/a.jsonl.gz:1"
    assert detect_file_format(files[0].url).file_format == "jsonl"

    recursive = expand_input(InputSpec(path=f"s3://{s3.bucket}/logs/**/*.jsonl.gz"), tmp_path)
    assert [f.url.rsplit("/", 1)[1] for f in recursive] == ["a.jsonl.gz", "b.jsonl.gz", "c.jsonl.gz"]

    fingerprint = input_fingerprint(files)
    assert fingerprint == input_fingerprint(files)
    s3.put("logs/a.jsonl.gz", gzip.compress(_jsonl(0, 99)))
    assert input_fingerprint(files) != fingerprint


def test_prefix_without_glob_and_tar_archive(s3: S3Bucket, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"id,text\n1,hello\n2,world\n"
        info = tarfile.TarInfo("export/table.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    s3.put("dump/2024/archive.tar.gz", buffer.getvalue())
    (source,) = expand_input(InputSpec(path=f"s3://{s3.bucket}/dump"), tmp_path)
    rows = list(read_rows(source))
    assert [r.value for r in rows] == [{"id": "1", "text": "hello"}, {"id": "2", "text": "world"}]
    assert rows[0].location == f"s3://{s3.bucket}/dump/2024/archive.tar.gz!export/table.csv:2"


def test_missing_objects(s3: S3Bucket, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="matched no files"):
        expand_input(InputSpec(path=f"s3://{s3.bucket}/nothing/*.jsonl"), tmp_path)
    with pytest.raises(InputError, match="not found"):
        expand_input(InputSpec(path=f"s3://{s3.bucket}/nothing.jsonl"), tmp_path)
