"""Binary stream plumbing: look at a stream's head without losing it, transcode, split into lines."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import Protocol

from datamill.io.report import ReadReport

#: Bytes read per ``read`` call: large reads keep the per-call overhead of decompressors and fsspec low.
CHUNK_SIZE = 4 << 20

UTF8_BOM = b"\xef\xbb\xbf"

#: Encodings the readers handle natively (a UTF-8 BOM is stripped anyway).
UTF8_NAMES = frozenset({"utf-8", "utf8", "utf-8-sig", "utf_8", "utf_8_sig", "u8"})


class ByteSource(Protocol):
    """Anything with ``read(size) -> bytes``: files, fsspec files, decompressors, archive members."""

    def read(self, size: int = -1, /) -> bytes: ...


class PeekableStream(io.RawIOBase):
    """Wraps a binary stream so that its first bytes can be inspected and then read again."""

    def __init__(self, raw: ByteSource) -> None:
        super().__init__()
        self._raw = raw
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def peek_head(self, size: int) -> bytes:
        """Up to ``size`` bytes from the current position, without consuming them."""
        while len(self._buffer) < size:
            more = self._raw.read(size - len(self._buffer))
            if not more:
                break
            self._buffer += more
        return self._buffer[:size]

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data = self._buffer + self._raw.read()
            self._buffer = b""
            return data
        if self._buffer:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
            return data
        return self._raw.read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class TranscodingStream(io.RawIOBase):
    """Presents a stream in any text encoding as UTF-8 bytes, so the readers only ever see UTF-8.

    Undecodable bytes become U+FFFD; ``replaced`` tells whether that happened.
    """

    def __init__(self, raw: ByteSource, encoding: str) -> None:
        super().__init__()
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        limit = None if size is None or size < 0 else size
        while (limit is None or len(self._pending) < limit) and not self._done:
            data = self._raw.read(CHUNK_SIZE)
            text = self._decoder.decode(data, final=not data)
            self._done = not data
            self._pending += text.encode("utf-8", "surrogatepass")
        if limit is None:
            out, self._pending = self._pending, b""
            return out
        out, self._pending = self._pending[:limit], self._pending[limit:]
        return out

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_all(stream: ByteSource, chunk_size: int = CHUNK_SIZE) -> bytes:
    parts: list[bytes] = []
    while True:
        data = stream.read(chunk_size)
        if not data:
            return b"".join(parts)
        parts.append(data)


def strip_bom(stream: ByteSource, report: ReadReport) -> tuple[bytes, int]:
    """Read the first chunk and drop a UTF-8 BOM (noted in ``report``); returns it and the bytes dropped."""
    first = stream.read(CHUNK_SIZE)
    while 0 < len(first) < len(UTF8_BOM):
        more = stream.read(CHUNK_SIZE)
        if not more:
            break
        first += more
    if first.startswith(UTF8_BOM):
        report.bom = True
        return first[len(UTF8_BOM) :], len(UTF8_BOM)
    return first, 0


def iter_lines(stream: ByteSource, first: bytes, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Lines of ``first`` (the chunk :func:`strip_bom` returned) and the rest of ``stream``.

    Lines come without their ``\\n`` (a ``\\r`` before it is kept). Reads in large chunks and splits
    them with ``bytes.split``; a line longer than a chunk (a 9 MB record) is collected piecewise and
    joined once, so long lines cost linear time.
    """
    chunk = first
    pending: list[bytes] = []
    while chunk:
        end = chunk.rfind(b"\n")
        if end < 0:
            pending.append(chunk)
        else:
            if pending:
                pending.append(chunk[:end])
                block = b"".join(pending)
                pending = []
            else:
                block = chunk[:end]
            yield from block.split(b"\n")
            if end + 1 < len(chunk):
                pending.append(chunk[end + 1 :])
        chunk = stream.read(chunk_size)
    if pending:
        last = b"".join(pending)
        if last:
            yield last
