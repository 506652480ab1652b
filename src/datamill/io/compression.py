"""Open any path or fsspec URL as decompressed binary streams; archives yield one stream per member.

Compression is recognised by extension (``.gz``, ``.zst``/``.zstd``, ``.bz2``, ``.xz``) and, when the
name says nothing, by magic bytes. ``.tar``, ``.tar.gz``/``.tgz`` (and the other compressed tars) and
``.zip`` archives yield their member files, each with the location ``archive.tar.gz!member/path``;
a member may itself be compressed (``a.tar!part.jsonl.gz``).

Which members are read: ``select`` (the glob after ``!`` in an input path, ``x.tar.gz!en-zh/*.tsv``;
``*`` also matches ``/``) picks members by name; without it every member that may hold data is read.
Skipped, and reported with the reason instead of being read or quarantined: directories, links and
special files, archiver metadata (``__MACOSX/``, ``._*``, ``.DS_Store``), members whose path climbs
out of the archive (``..``, absolute; unless ``allow_outside``), and, unless selected by name, files
that hold no data (``README``, ``LICENSE``, images, audio, code, model weights: :func:`not_data`).

Remote storage options come from the environment: s3fs (through botocore) reads ``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE`` and friends itself, so nothing is configured here.
"""

from __future__ import annotations

import bz2
import fnmatch
import gzip
import lzma
import posixpath
import stat
import tarfile
import zipfile
from collections import Counter
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
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
#: File names (before the first dot, lower case) of documents that ship with data sets.
DOC_STEMS = frozenset(("readme", "license", "licence", "copying", "notice", "authors", "changelog", "citation",
                       "contributing", "manifest"))
#: Extensions of files that never hold records (media, code, binaries, model weights, documents).
NOT_DATA_EXTENSIONS = frozenset((
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".svg", ".ico", ".tif", ".tiff", ".pdf", ".doc", ".docx",
    ".mp3", ".wav", ".flac", ".ogg", ".mp4", ".mov", ".avi", ".mkv", ".webm",
    ".py", ".sh", ".ipynb", ".js", ".ts", ".c", ".h", ".cpp", ".java", ".go", ".rs", ".yaml", ".yml", ".toml",
    ".cfg", ".ini", ".lock", ".exe", ".dll", ".so", ".dylib", ".bin", ".pt", ".pth", ".ckpt", ".safetensors",
    ".pkl", ".pickle", ".npy", ".npz", ".h5", ".onnx", ".gguf",
))


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


def not_data(name: str) -> bool:
    """A member that holds no records by its name: README/LICENSE-like documents, media, code, binaries.

    >>> [not_data(n) for n in ("en-zh/train.tsv", "README.md", "docs/LICENSE", "img/a.png", "data.txt")]
    [False, True, True, True, False]
    """
    base = posixpath.basename(split_compression(name)[0]).lower()
    return base.split(".")[0] in DOC_STEMS or posixpath.splitext(base)[1] in NOT_DATA_EXTENSIONS


def _climbs_out(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(parts[0]) == 2 and parts[0][1] == ":")


def split_member(path: str) -> tuple[str, str | None]:
    """``("x.tar.gz", "en-zh/*.tsv")`` for ``x.tar.gz!en-zh/*.tsv``: a member selection after ``!`` when
    what comes before it names an archive; otherwise the path unchanged and ``None``."""
    head, sep, tail = path.partition("!")
    if sep and tail and archive_kind(posixpath.basename(head)):
        return head, tail
    return path, None


@dataclass
class MemberChoice:
    """Which archive members to read, and what was skipped (name, reason), for the file's notes."""

    select: str | None = None
    allow_outside: bool = False
    #: reason -> how many members were skipped for it, and the first few of their names
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    selected: int = 0

    def skip_reason(self, name: str, *, is_file: bool) -> str | None:
        """Why member ``name`` is not read, or ``None`` to read it."""
        if not is_file:
            return "a directory, link or special file"
        if _is_junk(name):
            return "archiver metadata"
        if _climbs_out(name) and not self.allow_outside:
            return "its path climbs out of the archive (set allow_outside_paths to read it)"
        if self.select is not None:
            return None if fnmatch.fnmatchcase(name, self.select) else "not selected"
        return "holds no data (documentation, media, code or binaries)" if not_data(name) else None

    def take(self, name: str, *, is_file: bool) -> bool:
        reason = self.skip_reason(name, is_file=is_file)
        if reason is None:
            self.selected += 1
            return True
        self.skip(name, reason)
        return False

    def skip(self, name: str, reason: str) -> None:
        self.skipped[reason] += 1
        names = self.examples.setdefault(reason, [])
        if len(names) < 10:
            names.append(name)


def iter_members(url: str, display: str, choice: MemberChoice | None = None) -> Generator[Member, None, None]:
    """Every readable file behind ``url``: the file itself, or each member of an archive ``choice`` takes
    (default: every member that may hold data; see the module docstring).

    Streams are valid until the next member is requested; all are closed when the generator ends.
    """
    choice = choice or MemberChoice()
    base = posixpath.basename(url)
    kind = archive_kind(base)
    with ExitStack() as stack:
        raw = _open_raw(url)
        stack.callback(raw.close)
        if kind == "zip":
            archive = stack.enter_context(zipfile.ZipFile(raw))
            for entry in archive.infolist():
                is_link = stat.S_ISLNK(entry.external_attr >> 16)
                if not choice.take(entry.filename, is_file=not entry.is_dir() and not is_link):
                    continue
                with archive.open(entry) as handle:
                    stream, _ = decompress(handle, entry.filename)
                    name = split_compression(entry.filename)[0]
                    yield Member(f"{display}!{entry.filename}", name, stream)
            _check_selected(choice, display)
            return
        stream, compressed = decompress(raw, base)
        if kind == "tar":
            tar = stack.enter_context(tarfile.open(fileobj=cast(Any, stream), mode="r|*"))
            for item in tar:
                if not choice.take(item.name, is_file=item.isfile()):
                    continue
                extracted = tar.extractfile(item)
                if extracted is None:
                    continue
                member_stream, _ = decompress(extracted, item.name)
                yield Member(f"{display}!{item.name}", split_compression(item.name)[0], member_stream)
            _check_selected(choice, display)
            return
        if choice.select is not None:
            raise InputError(f"{display} is not an archive: '!{choice.select}' selects members of .tar or .zip files")
        yield Member(display, split_compression(base)[0], stream, None if compressed else url)


def _check_selected(choice: MemberChoice, display: str) -> None:
    if choice.select is not None and not choice.selected:
        names = choice.examples.get("not selected", [])
        raise InputError(
            f"{display}!{choice.select} matched no member of the archive",
            hint=f"its members: {', '.join(names) or 'none'}; '*' matches any characters, '/' included",
        )
