"""HTML building blocks of the build report: tables, collapsible blocks, record cards. Every piece of
data goes through :func:`html.escape` here, so a record holding ``<script>`` renders as text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from datamill.report.charts import fmt


def esc(value: Any) -> str:
    return escape("" if value is None else str(value))


def cell(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td class="num">{fmt(value)}</td>'
    return f"<td>{esc(value)}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "grid") -> str:
    """A table of plain values (numbers right-aligned and formatted, text escaped)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f'<table class="{esc(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def details(summary: str, body: str, *, open_: bool = False, summary_is_html: bool = False) -> str:
    head = summary if summary_is_html else esc(summary)
    return f'<details{" open" if open_ else ""}><summary>{head}</summary>{body}</details>'


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


def _turns(messages: Any, css: str = "") -> str:
    out = []
    for m in messages if isinstance(messages, list) else []:
        if not isinstance(m, dict):
            out.append(f'<div class="turn"><pre>{esc(_content(m))}</pre></div>')
            continue
        role = str(m.get("role") or "?")
        reasoning = m.get("reasoning")
        think = f'<div class="think"><b>reasoning</b><pre>{esc(_content(reasoning))}</pre></div>' if reasoning else ""
        out.append(f'<div class="turn {esc(role)} {esc(css)}"><span class="role">{esc(role)}</span>{think}'
                   f'<pre>{esc(_content(m.get("content")))}</pre></div>')
    return "".join(out)


def record_card(record: Any, *, title: str | None = None) -> str:
    """One record for people: its labels, every turn by role, preference continuations, text, meta."""
    if not isinstance(record, dict):
        return f'<div class="card"><pre>{esc(_content(record))}</pre></div>'
    labels = []
    for key in ("source", "kind", "split", "category", "lang"):
        if record.get(key) is not None:
            labels.append(f'<span class="pill" title="{key}">{esc(record[key])}</span>')
    for tag in record.get("tags") or []:
        labels.append(f'<span class="pill tag">{esc(tag)}</span>')
    scores = record.get("scores")
    if isinstance(scores, dict):
        labels.extend(f'<span class="pill score">{esc(k)} {esc(fmt(v) if isinstance(v, int | float) else v)}</span>'
                      for k, v in scores.items())
    body = [_turns(record.get("messages"))]
    if record.get("chosen") is not None:
        body.append('<div class="pref"><b>chosen</b>' + _turns(record.get("chosen"), "chosen") + "</div>")
    if record.get("rejected") is not None:
        body.append('<div class="pref"><b>rejected</b>' + _turns(record.get("rejected"), "rejected") + "</div>")
    if record.get("text") is not None:
        body.append(f'<div class="turn text"><pre>{esc(_content(record.get("text")))}</pre></div>')
    meta = record.get("meta")
    if meta:
        body.append(details("meta", f"<pre>{esc(_content(meta))}</pre>"))
    head = esc(title if title is not None else record.get("id"))
    return (f'<div class="card"><div class="cardhead"><code>{head}</code>{"".join(labels)}</div>'
            f'{"".join(body)}</div>')
