"""``compare.md``: the before/after table of a comparison, for people (``compare.json`` has the same numbers).

Metrics (before, after, delta, confidence interval, paired items), the same per category, the pairwise
judge's outcome counts, then side-by-side samples: question | before | after | reference (| judge), the
shape of seed 004's table. Cells are escaped for Markdown (``|``, newlines) and long texts are cut
(the JSON keeps them whole).
"""

from __future__ import annotations

from typing import Any

CELL_CHARS = 300
METHODS = {"paired-t": "paired t-interval of the per-item differences", "bootstrap": "percentile bootstrap of "
           "the mean per-item difference"}


def cell(text: Any, limit: int = CELL_CHARS) -> str:
    if text is None:
        return "-"
    s = str(text).strip()
    if len(s) > limit:
        s = s[:limit].rstrip() + " …"
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>") or "(empty)"


def num(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def ci_text(ci: list[float | None]) -> str:
    low, high = ci
    if low is None or high is None:
        return "-"
    return f"[{low:+.3f}, {high:+.3f}]"


def _metric_rows(metrics: dict[str, Any], label: str = "") -> list[str]:
    rows = []
    for name, m in metrics.items():
        shown = "pairwise judge (after preferred; 0.5 = tie)" if name == "pairwise" else name
        rows.append(f"| {label}{shown} | {num(m['before'])} | {num(m['after'])} | {num(m['delta'], True)} | "
                    f"{ci_text(m['ci'])} | {m['n']} |")
    return rows


def render_markdown(report: dict[str, Any]) -> str:
    b, a = report["before"], report["after"]
    ci = report["ci"]
    level = round(ci["level"] * 100)

    def who(side: dict[str, Any]) -> str:
        name = str(side.get("model") or "?")
        return name + (f" + {side['adapter']}" if side.get("adapter") else "")

    lines = [
        "# Before / after",
        "",
        f"- before: {who(b)} (`{b['dir']}`)",
        f"- after: {who(a)} (`{a['dir']}`)",
        f"- data: `{a.get('data')}`; {report['n']} items in both"
        + (f" ({report['unpaired']['before_only']} only before, {report['unpaired']['after_only']} only after)"
           if any(report["unpaired"].values()) else ""),
        f"- {level}% confidence intervals: {METHODS.get(ci['method'], ci['method'])}",
        "",
        f"| metric | before | after | delta | {level}% CI | n |",
        "|---|---:|---:|---:|---|---:|",
        *_metric_rows(report["metrics"]),
    ]
    for path, groups in report["by_category"].items():
        lines += ["", f"## By {path}", "", f"| {path} | metric | before | after | delta | {level}% CI | n |",
                  "|---|---|---:|---:|---:|---|---:|"]
        for value, group in groups.items():
            for row in _metric_rows(group["metrics"]):
                lines.append(f"| {cell(value, 60)} " + row)
    pairwise = report.get("pairwise")
    if pairwise:
        outcomes = ", ".join(f"{k} {v}" for k, v in pairwise["outcomes"].items())
        share = pairwise.get("first_position_share")
        lines += ["", "## Pairwise judge", "",
                  f"Judge `{pairwise['judge']}`, each pair asked in both orders. Outcomes: {outcomes}."
                  + ("" if share is None else f" The judge picked the first position in {share:.0%} of its decisive "
                     "verdicts (0.5 = no position bias; the swap cancels it).")]
    samples = report.get("samples") or []
    if samples:
        judged = any("pairwise" in s for s in samples)
        head = "| question | before | after | reference |" + (" judge |" if judged else "")
        lines += ["", "## Samples", "", head, "|---|---|---|---|" + ("---|" if judged else "")]
        for s in samples:
            row = f"| {cell(s['question'])} | {cell(s['before'])} | {cell(s['after'])} | {cell(s['reference'])} |"
            if judged:
                row += f" {cell(_judge_note(s.get('pairwise')))} |"
            lines.append(row)
    return "\n".join(lines) + "\n"


def _judge_note(p: dict[str, Any] | None) -> str:
    if not p:
        return "-"
    outcome = p.get("outcome", "-")
    reasons = [p[o]["reason"] for o in ("ab", "ba") if isinstance(p.get(o), dict) and p[o].get("reason")]
    return f"{outcome}" + (f": {reasons[0]}" if reasons else "")
