"""Compressed files and archives: every codec, magic-byte sniffing, member locations."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from datamill.io.compression import iter_members, open_binary, split_compression
from datamill.io.read import read_rows
from datamill.io.sources import SourceFile

JSONL = b"".join(b'{"i": %d, "t": "\xe4\xb8\xad"}\n' % i for i in range(200))
CODECS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": zstandard.ZstdCompressor().compress,
    ".zstd": zstandard.ZstdCompressor().compress,
}


def values(path: Path) -> list[int]:
    return [r.value["i"] for r in read_rows(SourceFile(str(path), path.name, "auto", {}))]


@pytest.mark.parametrize("suffix", list(CODECS))
def test_codecs(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data.jsonl{suffix}"
    path.write_bytes(CODECS[suffix](JSONL))
    assert values(path) == list(range(200))
    with open_binary(str(path)) as stream:
        assert stream.read() == JSONL


def test_multi_frame_zstd(tmp_path: Path) -> None:
    compressor = zstandard.ZstdCompressor()
    path = tmp_path / "data.jsonl.zst"
    path.write_bytes(compressor.compress(JSONL[:1000]) + compressor.compress(JSONL[1000:]))
    assert values(path) == list(range(200))


@pytest.mark.parametrize("codec", [".gz", ".zst", ".bz2", ".xz"])
def test_compression_sniffed_from_magic_bytes(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "data.jsonl"  # compressed, but the name does not say so
    path.write_bytes(CODECS[codec](JSONL))
    assert values(path) == list(range(200))


def _tar(path: Path, mode: Any, members: dict[str, bytes]) -> None:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize(("name", "mode"), [("a.tar", "w"), ("a.tar.gz", "w:gz"), ("a.tgz", "w:gz"),
                                            ("a.tar.bz2", "w:bz2"), ("a.tar.xz", "w:xz")])
def test_tar_members(tmp_path: Path, name: str, mode: str) -> None:
    members = {
        "data/part-0.jsonl": b'{"i": 0}\n{"i": 1}\n',
        "data/part-1.jsonl.gz": gzip.compress(b'{"i": 2}\n'),
        "data/._part-0.jsonl": b"\x00\x05\x16\x07 mac junk",
        "data/table.csv": b"i,x\n3,a\n",
        "notes/words.txt": b"hello\n\nworld\n",
    }
    path = tmp_path / name
    _tar(path, mode, members)
    stream = read_rows(SourceFile(str(path), name, "auto", {}))
    rows = list(stream)
    assert [r.value for r in rows] == [{"i": 0}, {"i": 1}, {"i": 2}, {"i": "3", "x": "a"},
                                       {"text": "hello"}, {"text": "world"}]
    assert [r.location for r in rows] == [
        f"{name}!data/part-0.jsonl:1", f"{name}!data/part-0.jsonl:2", f"{name}!data/part-1.jsonl.gz:1",
        f"{name}!data/table.csv:2", f"{name}!notes/words.txt:1", f"{name}!notes/words.txt:3",
    ]
    assert [d.file_format for _, d in stream.detections] == ["jsonl", "jsonl", "csv", "text-lines"]


def test_zip_members(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x/one.jsonl", b'{"i": 1}\n')
        archive.writestr("__MACOSX/x/._one.jsonl", b"junk")
        archive.writestr("x/two.json", b'[{"i": 2}]')
    rows = list(read_rows(SourceFile(str(path), "a.zip", "auto", {})))
    assert [(r.location, r.value) for r in rows] == [("a.zip!x/one.jsonl:1", {"i": 1}),
                                                      ("a.zip!x/two.json#0", {"i": 2})]


def test_iter_members_of_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_bytes(JSONL)
    members = list(iter_members(str(path), "plain.jsonl"))
    assert [(m.display, m.name, m.url) for m in members] == [("plain.jsonl", "plain.jsonl", str(path))]


def test_split_compression() -> None:
    assert split_compression("a.jsonl.gz") == ("a.jsonl", "gzip")
    assert split_compression("a.tgz") == ("a.tar", "gzip")
    assert split_compression("a.JSONL.ZST") == ("a.JSONL", "zstd")
    assert split_compression("a.jsonl") == ("a.jsonl", None)


def test_bom_in_one_member_does_not_shift_the_next(tmp_path: Path) -> None:
    path = tmp_path / "a.tar"
    _tar(path, "w", {"one.jsonl": b'\xef\xbb\xbf{"i": 1}\n{"i": 2}\n', "two.jsonl": b'{"i": 3}\n{"i": 4}\n',
                     "three.csv": b"\xef\xbb\xbfi\n5\n", "four.csv": b"i\n6\n"})
    rows = list(read_rows(SourceFile(str(path), "a.tar", "auto", {})))
    assert [(r.value["i"], r.offset) for r in rows] == [(1, 3), (2, 12), (3, 0), (4, 9), ("5", 5), ("6", 2)]
