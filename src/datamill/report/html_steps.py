"""The build report's step-specific sections as HTML: dedup, LLM, split balance, evaluation."""

from __future__ import annotations

from typing import Any

from datamill.report.charts import bars, fmt, histogram, pct
from datamill.report.markup import details, esc, table


def _members(cluster: dict[str, Any]) -> str:
    cards = []
    for mem in cluster.get("members", []):
        kept = mem.get("kept")
        sim = "kept" if kept else f"sim {fmt(mem.get('similarity'))}"
        cards.append(f'<div class="member{" kept" if kept else ""}"><span class="sim">{esc(sim)}</span>'
                     f'<code>{esc(mem.get("id"))}</code> <span class="dim">{esc(mem.get("source"))}</span>'
                     f'<pre>{esc(mem.get("preview"))}</pre></div>')
    more = f'<p class="dim">and {fmt(cluster["more"])} more members (clusters.json)</p>' if cluster.get("more") else ""
    return f'<div class="members">{"".join(cards)}</div>{more}'


def dedup(m: dict[str, Any]) -> str:
    if not m.get("dedup"):
        return ""
    out = ['<section id="dedup"><h2>Dedup</h2>']
    for d in m["dedup"]:
        sim = d.get("similarity") or {}
        sim_text = f", similarity of dropped: min {fmt(sim.get('min'))}, mean {fmt(sim.get('mean'))}" if sim else ""
        out.append(f'<h3>{esc(d["stage"])} ({esc(d["step"])})</h3><p>{fmt(d.get("seen"))} records, '
                   f'{fmt(d.get("groups"))} groups, {fmt(d.get("dropped"))} dropped{esc(sim_text)}</p>')
        if d.get("by_source"):
            out.append(table(["source", "before", "after", "removed", "removed %"],
                             [[r["source"], r["before"], r["after"], r["removed"], pct(r["removed"], r["before"])]
                              for r in d["by_source"]]))
        if d.get("summary_all"):
            head, *rows = d["summary_all"]
            out.append(details("per source across every dedup step (summary_all.csv)",
                               table(head, [[int(v) if v.isdigit() else v for v in r] for r in rows])))
        if d.get("clusters"):
            for i, c in enumerate(d["clusters"]):
                out.append(details(f"cluster {c['cluster']}: {fmt(c['size'])} records, kept {c['kept']}",
                                   _members(c), open_=i == 0))
        elif d.get("largest_groups"):
            out.append(details("largest groups", table(["kept", "size"], [[g.get("kept"), g.get("size")]
                                                                          for g in d["largest_groups"]])))
    out.append("</section>")
    return "".join(out)


def _verdicts(v: dict[str, Any]) -> str:
    out = []
    if v["kind"] == "judge":
        s = v["scores"]
        out.append(f'<div><b>judge score</b> <span class="dim">{fmt(s["n"])} judged, mean {fmt(s["mean"])}</span>'
                   f'{histogram(s["hist"], log_x=False)}</div>')
        out.append(f'<div><b>issue categories</b>{bars(list(v["issues"].items()))}'
                   f'<b>severities</b>{bars(list(v["severities"].items()))}</div>')
    else:
        s = v["scores"]
        out.append(f'<div><b>labels</b> <span class="dim">{fmt(v["n"])} labelled, {fmt(v["needs_review"])} tagged '
                   f'needs_review</span>{bars(list(v["labels"].items()))}</div>')
        out.append(f'<div><b>confidence</b> <span class="dim">mean {fmt(s["mean"])}</span>'
                   f'{histogram(s["hist"], log_x=False)}</div>')
    return '<div class="cols">' + "".join(out) + "</div>"


def llm(m: dict[str, Any]) -> str:
    if not m.get("llm"):
        return ""
    out = ['<section id="llm"><h2>LLM steps</h2>']
    rows = []
    for e in m["llm"]:
        rate = f"{fmt(e['achieved_rpm'])} / {fmt(e['rpm_limit'])}" if e.get("rpm_limit") else fmt(e.get("achieved_rpm"))
        errors = ", ".join(f"{k} {v}" for k, v in (e.get("errors") or {}).items()) or "none"
        rows.append([e["stage"], e.get("model"), e["paid_calls"], e["cached_calls"], e["input_tokens"],
                     e["output_tokens"], "-" if e.get("cost") is None else e["cost"], rate, e["invalid_outputs"],
                     errors])
    out.append(table(["stage", "model", "paid calls", "cached", "tokens in", "tokens out", "cost",
                      "req/min achieved / limit", "invalid outputs", "errors"], rows))
    for e in m["llm"]:
        if e.get("verdicts"):
            out.append(f'<h3>{esc(e["stage"])}: verdicts</h3>' + _verdicts(e["verdicts"]))
        if e.get("categories"):
            cats = e["categories"]
            cols = sorted({k for v in cats.values() for k in v})
            cols = ["existing", "generated", *[c for c in cols if c not in ("existing", "generated")]]
            out.append(f'<h3>{esc(e["stage"])}: generated vs existing per category</h3>' +
                       table(["category", *cols], [[c, *[v.get(k, 0) for k in cols]] for c, v in cats.items()]))
    out.append('<p class="dim">cost from the step\'s llm.budget prices (- when none are set); achieved rate over the '
               "time of batches that made paid calls.</p></section>")
    return "".join(out)


def splits(m: dict[str, Any]) -> str:
    if not m.get("splits"):
        return ""
    out = ['<section id="splits"><h2>Split balance</h2>']
    for s in m["splits"]:
        names = sorted(s["counts"])
        total = sum(s["counts"].values())
        out.append(f'<h3>{esc(s["stage"])}</h3>' + bars([(n, s["counts"][n]) for n in names], total=total))
        if s.get("strata"):
            rows = [[stratum, *[c.get(n, 0) for n in names], sum(c.values()),
                     *[pct(c.get(n, 0), sum(c.values())) for n in names]] for stratum, c in s["strata"].items()]
            out.append(f'<p>stratified by <code>{esc(s["stratify_by"])}</code></p>' +
                       table(["stratum", *names, "total", *[f"{n} %" for n in names]], rows))
            if s.get("strata_not_shown"):
                out.append(f'<p class="dim">{fmt(s["strata_not_shown"])} smaller strata not shown</p>')
    out.append("</section>")
    return "".join(out)


def review(m: dict[str, Any]) -> str:
    r = m.get("review")
    if not r:
        return ""
    out = [f'<section id="review"><h2>Human review</h2><p>{fmt(r["records"])} records decided: ' +
           ", ".join(f"{esc(k)} {fmt(v)}" for k, v in sorted(r["by_decision"].items())) + "; by reviewer: " +
           ", ".join(f"{esc(k)} {fmt(v)}" for k, v in sorted(r["by_reviewer"].items())) + "</p>"]
    if r["agreement"]:
        out.append(table(["reviewers", "items both decided", "agree", "Cohen's kappa"],
                         [[" & ".join(a["reviewers"]), a["items"], a["agree"],
                           "-" if a["kappa"] is None else a["kappa"]]
                          for a in r["agreement"]]))
    if r["clusters"]:
        out.append(f'<p>{fmt(r["clusters"])} dedup clusters reviewed: {fmt(r["clusters_confirmed"])} confirmed as '
                   f'duplicates ({pct(r["clusters_confirmed"], r["clusters"])} precision)</p>')
    out.append('<p class="dim">Decisions take effect through a <code>review_apply</code> step on the next run '
               "(see the funnel: human_rejected).</p></section>")
    return "".join(out)


def _flat(value: Any) -> Any:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v) if isinstance(v, int | float) else v}" for k, v in value.items())
    return value


def evaluations(m: dict[str, Any]) -> str:
    if not m.get("eval"):
        return ""
    out = ['<section id="eval"><h2>Evaluation</h2>']
    for e in m["eval"]:
        metrics = e.get("metrics") or {}
        out.append(f'<h3>{esc(e.get("model"))}{" + " + esc(e["adapter"]) if e.get("adapter") else ""}</h3>'
                   f'<p class="dim">{fmt(e.get("n"))} examples · {esc(e["path"])}</p>' +
                   table(["metric", "value"], [[k, _flat(v)] for k, v in metrics.items()]))
        by_cat = e.get("by_category") or {}
        if by_cat and all(isinstance(groups, dict) and groups and all(isinstance(g, dict) and "metrics" in g
                                                                      for g in groups.values())
                          for groups in by_cat.values()):  # datamill eval: {field: {value: {"n", "metrics"}}}
            for field, groups in by_cat.items():
                names = list(dict.fromkeys(k for g in groups.values() for k in g["metrics"]))
                rows = [[value, g.get("n"), *[_flat(g["metrics"].get(k)) for k in names]]
                        for value, g in groups.items()]
                out.append(table([field, "n", *names], rows))
        elif by_cat:
            cols = list(dict.fromkeys(k for v in by_cat.values() if isinstance(v, dict) for k in v))
            out.append(table(["category", *cols], [[c, *[_flat(v.get(k)) if isinstance(v, dict) else v for k in cols]]
                                                   for c, v in by_cat.items()]))
    out.append("</section>")
    return "".join(out)
