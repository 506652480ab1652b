"""Decide a file's container format from its name and its first 64 KB.

Content beats the extension where the content is unambiguous: corpora hold JSON Lines named ``.json``
and ``.txt``, and space-separated tables named ``.tsv``. Every decision comes with a confidence and a
reason a person can check ("first 200 lines are JSON objects"). Options given in the recipe
(``delimiter``, ``header``, ``encoding``, ``text_unit``, ``quoting``) always override what is sniffed.
"""

from __future__ import annotations

import codecs
import json
import posixpath
from collections.abc import Mapping
from contextlib import closing
from typing import Any

import orjson

from datamill.errors import FormatDetectionError
from datamill.io.compression import iter_members
from datamill.io.decoding import decode_gbk
from datamill.io.rows import FileDetection
from datamill.io.sniff_delimited import (
    WHITESPACE,
    Delimited,
    resolve_delimiter,
    sniff_delimiter,
    sniff_header,
    split_rows,
)
from datamill.io.streams import UTF8_BOM, UTF8_NAMES, PeekableStream

HEAD_BYTES = 64 * 1024
_LINE_SAMPLE = 200

EXTENSION_FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonlines": "jsonl", ".json": "json",
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".psv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".txt": "text-lines", ".text": "text-lines", ".log": "text-lines",
    ".html": "text-file", ".htm": "text-file", ".xml": "text-file", ".md": "text-file",
    ".markdown": "text-file", ".rst": "text-file", ".tex": "text-file",
}
_PREFERRED_DELIMITER = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".psv": "|"}
_LINE_JSON_EXTENSIONS = (".jsonl", ".ndjson", ".jsonlines", ".txt", ".text", ".log")


def detect_file_format(url: str, options: Mapping[str, Any] | None = None) -> FileDetection:
    """Detect the container of ``url`` (any path or fsspec URL; compressed files are looked into).

    For an archive, the first member decides and the reason names it; :func:`datamill.io.read.read_rows`
    detects every member separately.
    """
    with closing(iter_members(url, url)) as members:
        for member in members:
            head = PeekableStream(member.stream).peek_head(HEAD_BYTES + 1)
            try:
                found = sniff(member.name, head[:HEAD_BYTES], len(head) <= HEAD_BYTES, options or {})
            except FormatDetectionError as exc:
                raise FormatDetectionError(f"{member.display}: {exc.message}", hint=exc.hint) from None
            if member.display == url:
                return found
            reason = f"archive member {member.display.split('!', 1)[1]}: {found.reason}"
            return FileDetection(found.file_format, found.confidence, reason, found.options)
    raise FormatDetectionError(f"{url} is an archive without readable files")


def sniff(
    name: str, head: bytes, complete: bool, options: Mapping[str, Any], file_format: str = "auto"
) -> FileDetection:
    """Detect from a file ``name`` (compression suffixes removed) and its first bytes.

    ``complete`` says whether ``head`` is the whole file. ``file_format`` other than ``auto`` is taken
    as given; the options that format needs (delimiter, header) are still sniffed unless set.
    """
    user = dict(options)
    ext = posixpath.splitext(name.lower())[1]
    forced = None if file_format == "auto" else file_format
    if user.get("text_unit") == "file" and forced in (None, "text-lines"):
        forced = "text-file"
    if head.startswith(b"PAR1") and forced in (None, "parquet"):
        return _result("parquet", 1.0, "starts with the Parquet magic bytes PAR1", {}, user)
    if forced in ("parquet", "hf"):
        return _result(forced, 1.0, "file_format set in the recipe", {}, user)

    text, encoding, notes = _decode_head(head, complete, user.get("encoding"))
    detected: dict[str, Any] = {} if encoding == "utf-8" else {"encoding": encoding}
    complete_text = complete or text.endswith("\n")

    if forced in ("jsonl", "json", "text-lines", "text-file"):
        return _result(forced, 1.0, "file_format set in the recipe", detected, user, notes)
    if forced in ("csv", "tsv"):
        table = _sniff_table(text, complete_text, ".tsv" if forced == "tsv" else ".csv", forced, user)
        reason = "file_format set in the recipe" + (f"; {table[2]}" if table else "")
        return _result(forced, 1.0, reason, {**detected, **(table[3] if table else {})}, user, notes)

    stripped = text.lstrip()
    ext_format = EXTENSION_FORMATS.get(ext)
    if not stripped:
        fmt = ext_format if ext_format in ("jsonl", "json", "csv", "tsv", "text-file") else "text-lines"
        return _result(fmt, 0.5, "file is empty", detected, user, notes)
    if _looks_binary(text):
        raise FormatDetectionError(
            "it holds binary data that is not Parquet",
            hint="set file_format (jsonl, json, csv, tsv, parquet, text-lines, text-file) in the recipe",
        )
    if stripped[0] in "[{":
        found_json = _sniff_json(stripped, complete, ext)
        if found_json is not None:
            return _result(found_json[0], found_json[1], found_json[2], detected, user, notes)
    if ext_format in ("text-lines", "text-file"):
        reason = (
            f"named {ext} and not JSON" if ext_format == "text-lines" else f"a {ext} file is one document"
        )
        return _result(ext_format, 0.9, reason, detected, user, notes)
    table = _sniff_table(text, complete_text, ext, None, user)
    if table is not None:
        return _result(table[0], table[1], table[2], {**detected, **table[3]}, user, notes)
    reason = "no JSON and no consistent delimiter; one document per line"
    if ext_format is not None:
        reason = f"named {ext} but the content is not; " + reason
    return _result("text-lines", 0.6 if ext_format is None else 0.4, reason, detected, user, notes)


def _result(
    fmt: str, confidence: float, reason: str, detected: dict[str, Any], user: dict[str, Any],
    notes: list[str] | None = None,
) -> FileDetection:
    if notes:
        reason = reason + "; " + "; ".join(notes)
    options = {**detected, **{k: v for k, v in user.items() if v is not None}}
    return FileDetection(fmt, round(confidence, 2), reason, options)


def _decode_head(head: bytes, complete: bool, encoding: str | None) -> tuple[str, str, list[str]]:
    """The head as text, the encoding to read the file with, and remarks for the reason."""
    if encoding and encoding.lower() not in UTF8_NAMES:
        return head.decode(encoding, "replace"), encoding, [f"encoding {encoding} set in the recipe"]
    notes = []
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
        notes.append("UTF-8 BOM")
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")) and not encoding:
        return head.decode("utf-16", "replace"), "utf-16", ["UTF-16 byte order mark"]
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        return decoder.decode(head, final=complete), "utf-8", notes
    except UnicodeDecodeError:
        pass
    lines = head.split(b"\n")[: -1 if not complete and b"\n" in head else None]
    bad = good_non_ascii = gbk = 0
    for line in lines:
        try:
            line.decode("utf-8")
            good_non_ascii += not line.isascii()
        except UnicodeDecodeError:
            bad += 1
            gbk += decode_gbk(line) is not None
    if not encoding and gbk == bad and good_non_ascii == 0:
        return head.decode("gb18030", "replace"), "gb18030", ["text is GBK/GB18030-encoded Chinese"]
    notes.append(f"{bad} of the first {len(lines)} lines are not valid UTF-8")
    return head.decode("utf-8", "replace"), "utf-8", notes


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return control > 0.1 * len(sample)


def _sniff_json(text: str, complete: bool, ext: str) -> tuple[str, float, str] | None:
    """(format, confidence, reason) for text starting with ``[`` or ``{``; None when it is not JSON."""
    decoder = json.JSONDecoder(strict=False)
    if text[0] == "[":
        try:
            value, end = decoder.raw_decode(text)
        except json.JSONDecodeError as exc:
            return _sniff_open_array(text, exc, complete)
        if text[end:].strip():
            return None
        return "json", 0.99, f"a JSON array of {len(value)} values"
    lines = text.split("\n")
    if not complete and len(lines) > 1:
        lines.pop()
    nonblank = [line for line in lines if line.strip()][:_LINE_SAMPLE]
    values = objects = 0
    failed: list[str] = []
    first_is_object = False
    for i, line in enumerate(nonblank):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            failed.append(line)
            continue
        values += 1
        objects += isinstance(value, dict)
        first_is_object = first_is_object or (i == 0 and isinstance(value, dict))
    share = values / len(nonblank) if nonblank else 0.0
    if len(nonblank) >= 2 and objects >= 2 and values >= 0.5 * len(nonblank):
        if objects == len(nonblank):
            reason = f"first {objects} non-blank lines are JSON objects"
        else:
            reason = f"{objects} of the first {len(nonblank)} non-blank lines are JSON objects"
        return "jsonl", 0.99 if share == 1 else 0.6 + 0.35 * share, reason
    if len(nonblank) >= 2 and _line_family(nonblank, failed, first_is_object):
        reason = (f"JSON Lines with broken lines: {values} of the first {len(nonblank)} non-blank lines parse, "
                  "the rest start new objects at column 0 (each is an error with its line number)")
        return "jsonl", round(0.6 + 0.3 * share, 2), reason
    if len(nonblank) == 1 and values == 1:
        if complete:
            if ext in _LINE_JSON_EXTENSIONS:
                return "jsonl", 0.9, f"a single line holding a JSON object, named {ext}"
            return "json", 0.9, _object_shape(text, decoder, complete)
        why = "first line is a JSON object, the second is longer than 64 KB"
        if ext in _LINE_JSON_EXTENSIONS:
            return "jsonl", 0.8, f"{why}; named {ext}"
        return "json", 0.7, f"{why}; read as JSON values"
    if "\n" not in text.rstrip("\n") and not complete:
        if ext in _LINE_JSON_EXTENSIONS:
            return "jsonl", 0.7, f"first line is longer than 64 KB; named {ext}"
        return "json", 0.6, "first line is longer than 64 KB; read as JSON values"
    return "json", 0.9, _object_shape(text, decoder, complete)


def _line_family(nonblank: list[str], failed: list[str], first_is_object: bool) -> bool:
    """Whether lines that do not parse still belong to a JSON Lines file: they begin objects of their own
    (at column 0), unlike the indented pieces of pretty-printed JSON or objects separated by commas.

    The first line holding a whole object, or four in five lines starting with ``{``, mark the family;
    a majority of broken lines that are indented fragments or parse once a trailing comma is removed
    mark multi-line JSON instead.
    """
    def multi_line_piece(line: str) -> bool:
        if line[:1] in ' \t"}]' or line.strip() in ("{", "[", "},", "],"):
            return True
        try:
            orjson.loads(line.rstrip().removesuffix(","))
        except orjson.JSONDecodeError:
            return False
        return True

    if sum(map(multi_line_piece, failed)) * 2 > len(failed):
        return False
    starts = sum(1 for line in nonblank if line.startswith("{"))
    return first_is_object or starts >= 0.8 * len(nonblank)


def _sniff_open_array(text: str, exc: json.JSONDecodeError, complete: bool) -> tuple[str, float, str] | None:
    """A ``[`` whose array does not fit in the head (or is broken): judge by its first element."""
    decoder = json.JSONDecoder(strict=False)
    pos = 1
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    try:
        first, _ = decoder.raw_decode(text, pos)
    except json.JSONDecodeError:
        if not complete and (exc.pos >= len(text) - 64 or text[pos : pos + 1] in ("{", "[")):
            return "json", 0.8, "starts with '[' (a JSON array whose first value is longer than 64 KB)"
        return None
    what = "a JSON object" if isinstance(first, dict) else "a JSON value"
    if complete:
        return "json", 0.7, f"a JSON array starting with {what}, but broken at character {exc.pos}"
    return "json", 0.95, f"a JSON array whose first element is {what}"


def _object_shape(text: str, decoder: json.JSONDecoder, complete: bool) -> str:
    """Describe JSON that starts with ``{`` and is not one object per line."""
    try:
        value, end = decoder.raw_decode(text)
    except json.JSONDecodeError:
        if _keyed_prefix(text, decoder):
            return "a JSON object whose values are objects (keyed records; each value is a row, key in _key)"
        return "JSON objects spread over several lines (pretty-printed or concatenated)"
    rest = text[end:].lstrip()
    if rest:
        return "concatenated JSON objects (several objects, not one per line)"
    if isinstance(value, dict) and len(value) >= 2 and all(isinstance(v, dict) for v in value.values()):
        return f"a JSON object whose {len(value)} values are all objects (keyed records, key in _key)"
    return "a single JSON object (one row)"


def _keyed_prefix(text: str, decoder: json.JSONDecoder) -> bool:
    """Whether a truncated ``{...`` starts with two ``"key": {...}`` entries (the second may be cut off)."""
    pos, seen = 1, 0
    try:
        while seen < 2:
            pos = _skip_ws(text, pos)
            if text[pos:pos + 1] != '"':
                return False
            _, pos = decoder.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if text[pos:pos + 1] != ":":
                return False
            pos = _skip_ws(text, pos + 1)
            if text[pos:pos + 1] != "{":
                return False
            try:
                _, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                return seen == 1
            seen += 1
            pos = _skip_ws(text, pos)
            if text[pos:pos + 1] != ",":
                return False
            pos += 1
    except json.JSONDecodeError:
        return False
    return True


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _sniff_table(
    text: str, complete: bool, ext: str, forced: str | None, user: Mapping[str, Any]
) -> tuple[str, float, str, dict[str, Any]] | None:
    """(format, confidence, reason, options) for delimited text, or None when it is not a table."""
    given = resolve_delimiter(user["delimiter"]) if user.get("delimiter") else None
    preferred = given or _PREFERRED_DELIMITER.get(ext)
    layout: Delimited | None
    if given:
        quoting = bool(user.get("quoting", given not in ("\t", WHITESPACE)))
        layout = Delimited(given, quoting, 0, 1.0, True)
    else:
        layout = sniff_delimiter(text, complete, preferred)
    if layout is None:
        if forced is None and ext not in _PREFERRED_DELIMITER:
            return None
        delimiter = preferred or ","
        layout = Delimited(delimiter, delimiter != "\t", 1, 1.0, True)
        why = f"no delimiter gives two or more columns; read as one column split on {delimiter!r}"
    else:
        why = layout.describe() if layout.columns else f"delimiter {layout.delimiter!r} set in the recipe"
    rows = split_rows(text, layout.delimiter, layout.quoting, complete)
    header, header_why = sniff_header(rows)
    reasons = [why, header_why]
    if rows and layout.columns and not layout.first_row_fits:
        reasons.append(f"the first row has {len(rows[0])} fields but most rows have {layout.columns}")
    fmt = forced or ("tsv" if layout.delimiter == "\t" else "csv")
    agrees = _PREFERRED_DELIMITER.get(ext) == layout.delimiter
    regular = layout.consistency >= 0.99
    confidence = 0.95 if agrees and regular else 0.85 if regular else 0.7
    options = {"delimiter": layout.delimiter, "quoting": layout.quoting, "header": header}
    return fmt, confidence, "; ".join(reasons), options
