"""Render ``report.json`` (see :mod:`datamill.report.collect`) as one self-contained HTML page.

The page has no script and loads nothing: inline CSS, inline SVG, every value escaped. Sections appear
only when the run has their data: at a glance, funnel, quarantine, composition, lengths, scores,
dedup, LLM, split balance, evaluation, samples.
"""

from __future__ import annotations

from typing import Any

from datamill.report import html_steps
from datamill.report.charts import bars, fmt, histogram, pct, stacked
from datamill.report.diff import record_diff
from datamill.report.markup import details, esc, record_card, table
from datamill.report.style import CSS

PART_NAMES = {"total": "whole record", "prompt": "prompt", "answer": "answer"}


def _kpi(label: str, value: str, css: str = "", sub: str = "") -> str:
    return (f'<div class="kpi {css}" data-kpi="{esc(label)}"><div class="l">{esc(label)}</div>'
            f'<div class="v">{esc(value)}</div><div class="dim">{esc(sub)}</div></div>')


def glance(m: dict[str, Any]) -> str:
    t = m["totals"]
    read, written = int(t.get("read", 0)), int(t.get("written", 0))
    dropped = t.get("dropped", {})
    n_dropped = sum(dropped.values())
    top = ", ".join(f"{k} {fmt(v)}" for k, v in sorted(dropped.items(), key=lambda kv: -kv[1])[:3])
    reconciled = m["run"].get("reconciled")
    cards = [
        _kpi("read", fmt(read), sub=f"{len(m['inputs'])} input files"),
        _kpi("written", fmt(written), "ok", pct(written, read + int(t.get("generated", 0))) + " of input"),
        _kpi("dropped", fmt(n_dropped), "warn" if n_dropped else "", top),
        _kpi("quarantined", fmt(t.get("quarantined", 0)), "bad" if t.get("quarantined") else "", "unreadable rows"),
    ]
    if t.get("generated"):
        cards.append(_kpi("generated", fmt(t["generated"]), "ok", "records an LLM added"))
    cards.append(_kpi("counts reconcile", "yes" if reconciled else "NO", "ok" if reconciled else "bad",
                      "read + generated = written + dropped + quarantined"))
    return f'<div class="glance">{"".join(cards)}</div>'


def _examples(examples: dict[str, list[dict[str, Any]]], counts: dict[str, int]) -> str:
    out = []
    for reason, items in sorted(examples.items(), key=lambda kv: -counts.get(kv[0], 0)):
        cards = []
        for item in items:
            detail = item.get("detail")
            extra = f'<div class="dim">detail: {esc(detail)}</div>' if detail else ""
            cards.append(record_card(item.get("record")) + extra)
        shown = f"{len(items)} example{'s' if len(items) != 1 else ''}"
        out.append(details(f'<span class="reason">{esc(reason)}</span> {fmt(counts.get(reason, 0))} dropped · '
                           f"{shown}", "".join(cards), summary_is_html=True))
    return "".join(out)


def funnel(m: dict[str, Any]) -> str:
    rows = []
    chart = []
    for s in m["stages"]:
        dropped = sum((s.get("dropped") or {}).values())
        reasons = " ".join(f'<span class="reason">{esc(k)} {fmt(v)}</span>'
                           for k, v in sorted((s.get("dropped") or {}).items(), key=lambda kv: -kv[1]))
        rows.append(f'<tr data-stage="{esc(s["name"])}"><td>{esc(s["name"])}</td>'
                    f'<td class="num">{fmt(s.get("in"))}</td><td class="num">{fmt(s.get("out"))}</td>'
                    f'<td class="num">{fmt(dropped)}</td><td>{reasons}</td>'
                    f'<td class="num">{fmt(s.get("quarantined"))}</td>'
                    f'<td class="num">{fmt(s.get("generated") or 0)}</td>'
                    f'<td class="num">{"-" if s.get("step") is None else fmt(s.get("changed") or 0)}</td>'
                    f'<td class="num">{fmt(s.get("seconds"))}</td></tr>')
        chart.append((s["name"], [("kept", int(s.get("out") or 0)), ("dropped", dropped),
                                  ("quarantined", int(s.get("quarantined") or 0))]))
    for i, o in enumerate(m["outputs"]):
        dropped = sum((o.get("dropped") or {}).values())
        chart.append((f"output {i}: {o.get('format')}", [("written", int(o.get("out") or 0)), ("refused", dropped)]))
    head = ("<tr><th>stage</th><th>in</th><th>out</th><th>dropped</th><th>by reason</th><th>quarantined</th>"
            "<th>generated</th><th>changed</th><th>seconds</th></tr>")
    out = ['<section id="funnel"><h2>Funnel: where the records went</h2>',
           stacked(chart, ["kept", "dropped", "quarantined"]),
           f'<table class="grid funnel"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>']
    if m["inputs"]:
        out.append("<h3>Inputs</h3>" + table(
            ["file", "source", "format", "confidence", "rows", "records", "quarantined"],
            [[i["file"], i["source"], i["format"], i.get("confidence"), i.get("in"), i.get("out"), i.get("quarantined")]
             for i in m["inputs"]]))
    for s in m["stages"]:
        parts = []
        if s.get("examples"):
            parts.append(_examples(s["examples"], s.get("dropped") or {}))
        if s.get("changes"):
            pairs = "".join(f'<div class="card"><div class="cardhead"><code>{esc(p["after"].get("id"))}</code></div>'
                            f'{record_diff(p["before"], p["after"])}</div>' for p in s["changes"])
            parts.append(details(f"before/after: {len(s['changes'])} of {fmt(s['changed'])} changed records", pairs))
        if parts:
            out.append(f'<h3>{esc(s["name"])}</h3>' + "".join(parts))
    for i, o in enumerate(m["outputs"]):
        files = ", ".join(f"{f['path']} ({fmt(f['records'])})" for f in o.get("files", []))
        out.append(f'<h3>output {i}: {esc(o.get("format"))}</h3><p class="dim">{esc(files)}</p>')
        if o.get("where"):
            out.append(f'<p class="dim">where: <code>{esc(o["where"])}</code></p>')
        if o.get("examples"):
            out.append(_examples(o["examples"], o.get("dropped") or {}))
    dropped_total = m["totals"].get("dropped", {})
    export = {k: v for k, v in dropped_total.items() if k.startswith("export:")}
    if export:
        out.append("<p>Final records no output wrote: " + " ".join(
            f'<span class="reason">{esc(k)} {fmt(v)}</span>' for k, v in export.items()) + "</p>")
    out.append("</section>")
    return "".join(out)


def quarantine(m: dict[str, Any]) -> str:
    q = m["quarantine"]
    if not q["total"]:
        return ""
    out = [f'<section id="quarantine"><h2>Quarantine: {fmt(q["total"])} rows could not be used</h2>',
           table(["stage", "error", "count"], [[g["stage"], g["error"], g["count"]] for g in q["groups"]])]
    if q["lines_read"] < q["total"]:
        out.append(f'<p class="dim">error counts from the first {fmt(q["lines_read"])} quarantined rows</p>')
    out.append("<h3>Examples (file:line and error)</h3>" + table(
        ["stage", "location", "error", "row"],
        [[e["stage"], e["location"], e["error"], e["raw"]] for e in q["examples"]]))
    out.append('<p class="dim">All of them: the <code>quarantine/</code> folder of the work directory.</p></section>')
    return "".join(out)


def composition(m: dict[str, Any]) -> str:
    c = m.get("composition")
    if not c:
        return ""
    splits = c["splits"]
    out = [f'<section id="composition"><h2>Composition of the {fmt(c["records"])} final records</h2><div class="cols">']
    names = {"kind": "kind", "source": "source", "lang": "language", "category": "category", "tag": "tags"}
    for field, label in names.items():
        per_split = c["fields"].get(field)
        if not per_split:
            continue
        totals: dict[str, int] = {}
        for counts in per_split.values():
            for value, n in counts.items():
                totals[value] = totals.get(value, 0) + n
        ordered = sorted(totals.items(), key=lambda kv: -kv[1])
        rows = [[value, *[per_split.get(s, {}).get(value, 0) for s in splits], n] for value, n in ordered[:40]]
        out.append(f'<div data-field="{esc(field)}"><h3>{esc(label)}</h3>'
                   f'{bars(ordered, total=c["records"] if field != "tag" else None)}'
                   f'{table([label, *splits, "total"], rows)}</div>')
    out.append("</div></section>")
    return "".join(out)


def lengths(m: dict[str, Any]) -> str:
    lens = m.get("lengths")
    if not lens:
        return ""
    out = ['<section id="lengths"><h2>Lengths</h2>']
    tokens = m.get("tokens")
    if tokens:
        cutoff = tokens["cutoff"]
        over = tokens["over"]
        source = f' ({esc(tokens["cutoff_from"])})' if tokens.get("cutoff_from") else ""
        out.append(f'<h3>Tokens ({esc(tokens["tokenizer"])}), training cutoff {fmt(cutoff)}{source}: '
                   f'<span data-over="{over}">{fmt(over)} records over ({pct(over, tokens["n"])})</span></h3>'
                   '<div class="cols">')
        for g in tokens["groups"]:
            label = f"cutoff {fmt(cutoff)}: {fmt(g['over'])} over"
            out.append(f'<div><b>{esc(g["split"])} · {esc(g["kind"])}</b> <span class="dim">{fmt(g["n"])} records, '
                       f'median {fmt(g["p50"])}, p99 {fmt(g["p99"])}, max {fmt(g["max"])} tokens</span>'
                       f'{histogram(g["bins"], log_x=True, marker=cutoff, marker_label=label, unit="tokens")}</div>')
        out.append(f'</div><p class="dim">{esc(tokens["note"])}</p>')
    out.append('<h3>Characters per record (everything a trainer reads)</h3><div class="cols">')
    for g in lens["groups"]:
        if g["part"] != "total":
            continue
        out.append(f'<div><b>{esc(g["split"])} · {esc(g["kind"])}</b> <span class="dim">{fmt(g["n"])} records, '
                   f'median {fmt(g["p50"])}, p99 {fmt(g["p99"])}, max {fmt(g["max"])}</span>'
                   f'{histogram(g["bins"], log_x=True, unit="characters")}</div>')
    out.append("</div>")
    rows = [[g["split"], g["kind"], PART_NAMES.get(g["part"], g["part"]), g["n"], g["mean"], g["p50"], g["p90"],
             g["p99"], g["min"], g["max"]] for g in lens["groups"]]
    out.append(table(["split", "kind", "part", "records", "mean", "median", "p90", "p99", "min", "max"], rows))
    out.append('<p class="dim">Characters; percentiles are bin edges (within 19%), min, max and mean are exact. '
               "Token lengths: <code>datamill report RUN --tokenizer NAME_OR_PATH --cutoff N</code>.</p></section>")
    return "".join(out)


def scores(m: dict[str, Any]) -> str:
    s = m.get("scores")
    if not s:
        return ""
    out = ['<section id="scores"><h2>Scores of the final records</h2><div class="cols">']
    for name, v in s.items():
        out.append(f'<div><b>scores.{esc(name)}</b> <span class="dim">{fmt(v["n"])} records, mean {fmt(v["mean"])}, '
                   f'min {fmt(v["min"])}, max {fmt(v["max"])}</span>{histogram(v["hist"], log_x=False)}</div>')
    out.append("</div></section>")
    return "".join(out)


def samples(m: dict[str, Any]) -> str:
    s = m.get("samples")
    if not s and not any(o.get("rows") for o in m["outputs"]):
        return ""
    out = ['<section id="samples"><h2>Samples</h2>']
    for split, records in (s or {}).items():
        out.append(details(f"final records, {split}: {len(records)} at random",
                           "".join(record_card(r) for r in records), open_=split == next(iter(s or {}))))
    for i, o in enumerate(m["outputs"]):
        for file, rows in o.get("rows", {}).items():
            out.append(details(f"output {i} ({o.get('format')}), {file}: {len(rows)} rows as written",
                               "".join(record_card(r["row"], title=str(r.get("id"))) for r in rows)))
    out.append('<p class="dim">Uniform samples (the records with the smallest hash of their id), the same on every '
               "run of the same data.</p></section>")
    return "".join(out)


def render(m: dict[str, Any]) -> str:
    run = m["run"]
    body = [glance(m)]
    for note in m.get("notes", []):
        body.append(f'<div class="note">{esc(note)}</div>')
    sections = [
        ("funnel", "Funnel", funnel(m)), ("quarantine", "Quarantine", quarantine(m)),
        ("composition", "Composition", composition(m)), ("lengths", "Lengths", lengths(m)),
        ("scores", "Scores", scores(m)), ("dedup", "Dedup", html_steps.dedup(m)), ("llm", "LLM", html_steps.llm(m)),
        ("splits", "Split balance", html_steps.splits(m)), ("eval", "Evaluation", html_steps.evaluations(m)),
        ("review", "Review", html_steps.review(m)),
        ("samples", "Samples", samples(m)),
    ]
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title, html in sections if html)
    body.extend(html for _, _, html in sections if html)
    when = f"{run.get('started_at') or ''}, {fmt(run.get('seconds'))} s"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(run.get('recipe'))} · "
        f"datamill report</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(run.get('recipe'))}</h1><div class=\"sub\">datamill build report · {esc(when)} · "
        f"{esc(run.get('workdir'))}</div></header><nav>{nav}</nav><main>{''.join(body)}</main>"
        f"<footer>datamill {esc(run.get('datamill_version'))} · made from the run's per-shard statistics; "
        "report.json next to this file has the same numbers</footer></body></html>\n"
    )
