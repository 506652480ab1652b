"""Byte-level helpers shared by the readers: GBK recovery, raw prefixes for quarantine, type names."""

from __future__ import annotations

from typing import Any

#: Longest prefix of a bad row kept in ``RawRow.raw`` (the quarantine file shows it).
RAW_LIMIT = 2000

#: Share of the non-ASCII characters that must be CJK for a GBK decoding to be accepted.
CJK_SHARE = 0.9

GBK_NOTE = "decoded as GBK"

# Code point ranges that Chinese text encoded as GBK/GB18030 normally contains: ideographs, CJK and
# full-width punctuation, the general punctuation GBK carries (“ ” … —), kana, Greek/Cyrillic letters
# and the symbol blocks of GB2312 (circled numbers, box drawing, shapes).
_CJK_RANGES = (
    (0x00B7, 0x00B7), (0x00D7, 0x00D7), (0x00F7, 0x00F7), (0x0391, 0x03C9), (0x0401, 0x0451),
    (0x2010, 0x203B), (0x2103, 0x2103), (0x2160, 0x216B), (0x2190, 0x2199), (0x2460, 0x249B),
    (0x2500, 0x254B), (0x25A0, 0x25E5), (0x2605, 0x2606), (0x3000, 0x303F), (0x3040, 0x30FF),
    (0x3105, 0x3129), (0x3220, 0x3243), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F), (0xFF00, 0xFFEF),
)


def is_cjk_char(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def mostly_cjk(text: str) -> bool:
    """True when the non-ASCII characters of ``text`` are overwhelmingly CJK (and there are some)."""
    non_ascii = [ch for ch in text if ord(ch) > 0x7F]
    if not non_ascii:
        return False
    cjk = sum(1 for ch in non_ascii if is_cjk_char(ch))
    if len(non_ascii) == 1:
        return cjk == 1
    return cjk >= 2 and cjk >= CJK_SHARE * len(non_ascii)


def decode_gbk(data: bytes) -> str | None:
    """``data`` decoded as GB18030 (a superset of GBK) when that yields plausible Chinese text, else None.

    GB18030 can decode many byte strings that are not Chinese at all (Latin-1 text often decodes to
    random ideographs), so a decoding is accepted only when it is strict and the non-ASCII characters
    are nearly all CJK ideographs or punctuation.
    """
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return text if mostly_cjk(text) else None


def raw_prefix(data: bytes | str) -> str:
    """A printable prefix of bad input for the quarantine: undecodable bytes become ``\\xNN``."""
    if isinstance(data, str):
        return data[:RAW_LIMIT]
    return data[: RAW_LIMIT * 4].decode("utf-8", "backslashreplace")[:RAW_LIMIT]


def json_type_name(value: Any) -> str:
    """JSON's name for the type of a parsed value: ``null``, ``array``, ``string``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__
