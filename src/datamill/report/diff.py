"""Before/after of a record a step changed, as escaped HTML: an inline diff per text part (words, and
single characters for CJK scripts) and the other fields that changed, old -> new."""

from __future__ import annotations

import difflib
import json
import re
from html import escape
from typing import Any

from datamill.records import answer_text, conversation_text, prompt_text, reasoning_text

#: one token of a diff: a CJK character, a run of word characters, a run of spaces, or one other character
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|\w+|\s+|[^\w\s]")
_TEXT_PARTS = (
    ("system", lambda r: "\n".join(str(m.get("content") or "") for m in r.get("messages") or []
                                   if isinstance(m, dict) and m.get("role") == "system")),
    ("prompt", prompt_text),
    ("answer", answer_text),
    ("reasoning", reasoning_text),
    ("rejected", lambda r: conversation_text({"messages": r.get("rejected") or []})),
    ("text", lambda r: str(r.get("text") or "") if r.get("messages") else ""),
)
_TEXT_FIELDS = {"messages", "chosen", "rejected", "text"}


def inline_diff(before: str, after: str) -> str:
    """``before`` -> ``after`` with removed tokens in ``<del>`` and added ones in ``<ins>`` (escaped)."""
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f"<del>{escape(''.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{escape(''.join(b[j1:j2]))}</ins>")
    return "".join(out)


def _short_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:300] + " …"


def record_diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The changed text parts and fields of one record, as an HTML table."""
    rows = []
    for name, get in _TEXT_PARTS:
        old, new = get(before), get(after)
        if old != new:
            rows.append(f'<tr><th>{escape(name)}</th><td class="diff">{inline_diff(old, new)}</td></tr>')
    keys = list(dict.fromkeys([*before, *after]))
    for key in keys:
        if key in _TEXT_FIELDS or key == "meta":
            continue
        if before.get(key) != after.get(key):
            rows.append(f'<tr><th>{escape(key)}</th><td><del>{escape(_short_json(before.get(key)))}</del> → '
                        f'<ins>{escape(_short_json(after.get(key)))}</ins></td></tr>')
    old_meta, new_meta = before.get("meta") or {}, after.get("meta") or {}
    if isinstance(old_meta, dict) and isinstance(new_meta, dict):
        for key in dict.fromkeys([*old_meta, *new_meta]):
            if old_meta.get(key) != new_meta.get(key):
                rows.append(f'<tr><th>meta.{escape(str(key))}</th><td><del>{escape(_short_json(old_meta.get(key)))}'
                            f'</del> → <ins>{escape(_short_json(new_meta.get(key)))}</ins></td></tr>')
    if not rows:
        rows.append('<tr><td colspan="2" class="dim">only the layout of the stored record changed</td></tr>')
    return f'<table class="kv">{"".join(rows)}</table>'
