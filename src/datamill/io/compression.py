"""Open any path or fsspec URL as decompressed binary streams; archives yield one stream per member.

Compression is recognised by extension (``.gz``, ``.zst``/``.zstd``, ``.bz2``, ``.xz``) and, when the
name says nothing, by magic bytes. ``.tar``, ``.tar.gz``/``.tgz`` (and the other compressed tars) and
``.zip`` archives yield their member files, each with the location ``archive.tar.gz!member/path``;
a member may itself be compressed (``a.tar!part.jsonl.gz``).

Remote storage options come from the environment: s3fs (through botocore) reads ``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE`` and friends itself, so nothing is configured here.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import posixpath
import tarfile
import zipfile
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, cast

from datamill.errors import InputError
from datamill.io.streams import ByteSource, PeekableStream

COMPRESSION_SUFFIXES = {
    ".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2", ".xz": "xz",
}
_TAR_SHORT = {".tgz": "gzip", ".tbz2": "bz2", ".tbz": "bz2", ".txz": "xz", ".tzst": "zstd"}
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))
# Members that archivers add and that never hold data (macOS resource forks and folder metadata).
_JUNK_PARTS = ("__MACOSX/", "/._", ".DS_Store")


@dataclass
class Member:
    """One readable file: a plain file, or a member of an archive.

    ``name`` is the file name with compression suffixes removed (for detection by extension);
    ``url`` is set when the stream is the file itself, uncompressed, so it can be reopened for random
    access (Parquet needs that); otherwise a reader that must seek buffers the stream.
    """

    display: str
    name: str
    stream: ByteSource
    url: str | None = None


def split_compression(name: str) -> tuple[str, str | None]:
    """``("data.jsonl", "gzip")`` for ``data.jsonl.gz``; tar shorthands become ``x.tar``."""
    lower = name.lower()
    for suffix, kind in _TAR_SHORT.items():
        if lower.endswith(suffix):
            return name[: -len(suffix)] + ".tar", kind
    for suffix, kind in COMPRESSION_SUFFIXES.items():
        if lower.endswith(suffix):
            return name[: -len(suffix)], kind
    return name, None


def archive_kind(name: str) -> str | None:
    """``"tar"`` or ``"zip"`` when ``name`` (compression suffixes removed) is an archive."""
    inner, _ = split_compression(name)
    lower = inner.lower()
    if lower.endswith(".tar"):
        return "tar"
    if lower.endswith(".zip"):
        return "zip"
    return None


def _decompressor(stream: ByteSource, kind: str) -> ByteSource:
    fileobj = cast(Any, stream)
    if kind == "gzip":
        return gzip.GzipFile(fileobj=fileobj, mode="rb")
    if kind == "bz2":
        return bz2.BZ2File(fileobj, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(fileobj, mode="rb")
    import zstandard

    return cast(ByteSource, zstandard.ZstdDecompressor().stream_reader(fileobj, read_across_frames=True))


def decompress(stream: ByteSource, name: str) -> tuple[ByteSource, bool]:
    """The decompressed view of ``stream`` (by suffix, else by magic bytes) and whether it was compressed."""
    _, kind = split_compression(name)
    peekable = PeekableStream(stream)
    if kind is None:
        head = peekable.peek_head(6)
        kind = next((k for magic, k in _MAGIC if head.startswith(magic)), None)
    if kind is None:
        return peekable, False
    return _decompressor(peekable, kind), True


def _open_raw(url: str) -> Any:
    import fsspec

    try:
        return fsspec.open(url, "rb").open()
    except FileNotFoundError as exc:
        raise InputError(f"input file not found: {url}") from exc
    except OSError as exc:
        raise InputError(f"cannot open {url}: {exc}", hint="check the path, the URL and credentials") from exc


@contextmanager
def open_binary(url: str) -> Iterator[ByteSource]:
    """``url`` (a path or any fsspec URL) as one decompressed binary stream; archives are not expanded."""
    raw = _open_raw(url)
    try:
        stream, _ = decompress(raw, posixpath.basename(url))
        yield stream
    finally:
        raw.close()


def _is_junk(name: str) -> bool:
    return any(part in "/" + name for part in _JUNK_PARTS)


def iter_members(url: str, display: str) -> Generator[Member, None, None]:
    """Every readable file behind ``url``: the file itself, or each regular member of an archive.

    Streams are valid until the next member is requested; all are closed when the generator ends.
    """
    base = posixpath.basename(url)
    kind = archive_kind(base)
    with ExitStack() as stack:
        raw = _open_raw(url)
        stack.callback(raw.close)
        if kind == "zip":
            archive = stack.enter_context(zipfile.ZipFile(raw))
            for entry in archive.infolist():
                if entry.is_dir() or _is_junk(entry.filename):
                    continue
                with archive.open(entry) as handle:
                    stream, _ = decompress(handle, entry.filename)
                    name = split_compression(entry.filename)[0]
                    yield Member(f"{display}!{entry.filename}", name, stream)
            return
        stream, compressed = decompress(raw, base)
        if kind == "tar":
            tar = stack.enter_context(tarfile.open(fileobj=cast(Any, stream), mode="r|*"))
            for item in tar:
                if not item.isfile() or _is_junk(item.name):
                    continue
                extracted = tar.extractfile(item)
                if extracted is None:
                    continue
                member_stream, _ = decompress(extracted, item.name)
                yield Member(f"{display}!{item.name}", split_compression(item.name)[0], member_stream)
            return
        yield Member(display, split_compression(base)[0], stream, None if compressed else url)
