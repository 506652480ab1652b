"""``canonical``: rows already in datamill's record schema, e.g. datamill's own JSONL output read back.

Recognised by a valid ``kind`` plus ``messages``, ``chosen`` or ``text``. The row is validated and
returned unchanged (a record round-trips exactly, ``id``/``source``/``source_id`` included: they are the
record's provenance from the run that wrote it). Fields outside the schema move into ``meta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datamill.formats.base import AdapterError, FormatAdapter
from datamill.formats.fields import type_name
from datamill.formats.messages import KTO_LABEL
from datamill.records import KINDS, ROLES, TOP_LEVEL_FIELDS, Record

_TOP = frozenset(TOP_LEVEL_FIELDS)


def _check_messages(value: Any, key: str) -> None:
    if not isinstance(value, list):
        raise AdapterError(f"'{key}' must be a list of messages, got {type_name(value)}")
    for i, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise AdapterError(f"{key}[{i}] must be an object, got {type_name(message)}")
        if message.get("role") not in ROLES:
            raise AdapterError(
                f"{key}[{i}]: role must be one of {', '.join(ROLES)}, got {message.get('role')!r}"
            )
        content = message.get("content")
        if not (isinstance(content, str | list) or (content is None and message.get("tool_calls"))):
            raise AdapterError(f"{key}[{i}]: content must be a string, got {type_name(content)}")
        if not isinstance(message.get("reasoning", ""), str):
            raise AdapterError(f"{key}[{i}]: reasoning must be a string")


_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "tie": (bool,),
    "meta": (dict,),
    "scores": (dict,),
    "tags": (list,),
    "category": (str,),
    "lang": (str,),
    "split": (str,),
    "tools": (list, dict),
}


def validate_record(record: Mapping[str, Any]) -> None:
    """Raise :class:`AdapterError` unless ``record`` follows the canonical schema (see ``records``)."""
    kind = record.get("kind")
    if kind not in KINDS:
        raise AdapterError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for key in ("messages", "chosen", "rejected"):
        if key in record:
            _check_messages(record[key], key)
    for key, types in _TYPES.items():
        if record.get(key) is not None and not isinstance(record[key], types):
            raise AdapterError(f"'{key}' has the wrong type: {type_name(record[key])}")
    if kind == "pretrain" and not isinstance(record.get("text"), str):
        raise AdapterError("a pretrain record needs a 'text' string (blank is kept: exporters refuse it)")
    if kind in ("sft", "chat", "cot") and not record.get("messages"):
        raise AdapterError(f"a {kind} record needs 'messages'")
    if kind == "preference":
        paired = "chosen" in record and "rejected" in record
        kto = isinstance((record.get("scores") or {}).get(KTO_LABEL), bool)
        if not (paired or record.get("tie") or kto):
            raise AdapterError(f"a preference record needs chosen and rejected, tie, or scores.{KTO_LABEL}")


class CanonicalAdapter(FormatAdapter):
    """Rows in datamill's canonical schema (``kind`` + ``messages``/``chosen``/``text``)."""

    name = "canonical"
    description = "datamill's own record schema (kind, messages, chosen/rejected, text, meta)"
    specificity = 4

    def score(self, row: Mapping[str, Any]) -> float:
        kind = row.get("kind")
        if kind is None:
            return 0.0
        if kind not in KINDS or not any(k in row for k in ("messages", "chosen", "text", "meta")):
            return 0.1
        try:
            validate_record(row)
        except AdapterError:
            return 0.3
        return 1.0

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        return [k for k in row if k in _TOP]

    def to_record(self, row: Mapping[str, Any]) -> Record:
        validate_record(row)
        record: Record = {}
        extra: dict[str, Any] = {}
        for key, value in row.items():
            if key in _TOP:
                record[key] = value
            else:
                extra[key] = value
        if extra:
            meta = dict(record.get("meta") or {})
            clash = sorted(set(meta) & set(extra))
            if clash:
                raise AdapterError(f"field(s) {', '.join(clash)} are both top-level and in meta")
            meta.update(extra)
            record["meta"] = meta
        if self.config.kind is not None:
            record["kind"] = self.config.kind
        return record
