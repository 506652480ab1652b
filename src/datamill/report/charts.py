"""Charts for the build report as inline markup: CSS bar rows and SVG histograms (no script, no fonts,
no request to any other host). Every label is escaped here; callers pass plain text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH = 560
HEIGHT = 150
PAD_LEFT = 44
PAD_BOTTOM = 22
PAD_TOP = 18


def fmt(n: float | int | None) -> str:
    """A count or value for people: 1,234 / 0.83 / 12.5k for big floats."""
    if n is None:
        return "-"
    if isinstance(n, int) or (float(n).is_integer() and abs(n) >= 1):
        return f"{int(n):,}"
    return f"{n:.3g}" if abs(n) < 1000 else f"{n:,.0f}"


def pct(part: int | float, whole: int | float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def bars(rows: Sequence[tuple[str, int | float]], *, total: float | None = None, css: str = "",
         limit: int = 30) -> str:
    """Horizontal bars, one row per ``(label, value)``, scaled to the largest; shares of ``total``."""
    rows = list(rows)
    shown, rest = rows[:limit], rows[limit:]
    if rest:
        shown.append((f"{len(rest)} more", sum(v for _, v in rest)))
    top = max((v for _, v in shown), default=0) or 1
    whole = total if total is not None else sum(v for _, v in rows)
    out = [f'<table class="bars {escape(css)}">']
    for label, value in shown:
        width = 100 * value / top
        out.append(f'<tr><th title="{escape(label)}">{escape(label)}</th>'
                   f'<td class="bar"><span style="width:{width:.1f}%"></span></td>'
                   f'<td class="num">{fmt(value)}</td><td class="num dim">{pct(value, whole)}</td></tr>')
    out.append("</table>")
    return "".join(out)


def stacked(rows: Sequence[tuple[str, Sequence[tuple[str, int]]]], classes: Sequence[str]) -> str:
    """One horizontal bar per row made of segments ``(label, value)`` (styled by ``classes``), all rows on
    one scale (the funnel: kept, dropped, quarantined per stage)."""
    top = max((sum(v for _, v in segs) for _, segs in rows), default=0) or 1
    out = ['<table class="bars stacked">']
    for label, segs in rows:
        cells = []
        for (name, value), cls in zip(segs, classes, strict=False):
            if value:
                cells.append(f'<span class="{escape(cls)}" style="width:{100 * value / top:.2f}%" '
                             f'title="{escape(name)}: {fmt(value)}"></span>')
        legend = " · ".join(f"{escape(name)} {fmt(v)}" for name, v in segs if v)
        out.append(f'<tr><th>{escape(label)}</th><td class="bar">{"".join(cells)}</td>'
                   f'<td class="legend">{legend}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _ticks_log(lo: float, hi: float) -> list[float]:
    """Powers of ten, with 2 and 5 times them when the axis spans under two decades."""
    steps = (1, 2, 5) if math.log10(hi / max(lo, 1)) < 2 else (1,)
    ticks: list[float] = []
    p = 10 ** math.floor(math.log10(max(lo, 1)))
    while p <= hi:
        ticks.extend(p * k for k in steps if lo <= p * k <= hi)
        p *= 10
    return ticks


def _short(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1_000_000:g}M"
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def histogram(bins: Sequence[Sequence[float]], *, log_x: bool, marker: float | None = None,
              marker_label: str = "", unit: str = "", title: str = "") -> str:
    """An SVG histogram of ``[low, high, count]`` bins (log-scaled x for lengths), with an optional
    vertical marker (the training cutoff) and a tooltip per bar."""
    bins = [b for b in bins if b[2] or not log_x]
    if not bins:
        return '<p class="dim">no values</p>'
    lo = max(bins[0][0], 1.0) if log_x else bins[0][0]
    hi = max(bins[-1][1], marker * 1.05 if marker else 0.0)
    if log_x:  # at least a decade, with the data in the middle of it
        lo = max(1.0, lo / 1.5)
        hi = max(hi * 1.2, lo * 10)
    elif hi <= lo:
        hi = lo + 1

    def x(v: float) -> float:
        if log_x:
            v = max(v, lo)
            frac = (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        else:
            frac = (v - lo) / (hi - lo)
        return PAD_LEFT + frac * (WIDTH - PAD_LEFT - 8)

    top = max(b[2] for b in bins) or 1
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    parts = [f'<svg class="hist" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{escape(title)}">']
    parts.append(f'<line x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH - 8}" y2="{HEIGHT - PAD_BOTTOM}" '
                 'class="axis"/>')
    parts.append(f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 4}" class="tick" text-anchor="end">{fmt(top)}</text>')
    parts.append(f'<text x="{PAD_LEFT - 4}" y="{HEIGHT - PAD_BOTTOM}" class="tick" text-anchor="end">0</text>')
    for low, high, count in bins:
        if not count:
            continue
        x0, x1 = x(max(low, lo)), x(high)
        h = plot_h * count / top
        label = f"{_short(low) if not log_x else math.ceil(low)}–{_short(high) if not log_x else math.ceil(high) - 1}"
        if log_x and math.ceil(high) - 1 <= math.ceil(low):
            label = f"{math.ceil(low)}"
        parts.append(f'<rect x="{x0:.1f}" y="{HEIGHT - PAD_BOTTOM - h:.1f}" width="{max(1.0, x1 - x0 - 0.5):.1f}" '
                     f'height="{h:.1f}" class="binbar"><title>{escape(label)} {escape(unit)}: {fmt(count)}</title>'
                     "</rect>")
    ticks = _ticks_log(lo, hi) if log_x else [lo, (lo + hi) / 2, hi]
    for t in ticks:
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 6}" class="tick" text-anchor="middle">{_short(t)}</text>')
    if marker is not None:
        mx = x(marker)
        parts.append(f'<line x1="{mx:.1f}" y1="{PAD_TOP - 6}" x2="{mx:.1f}" y2="{HEIGHT - PAD_BOTTOM}" '
                     'class="marker"/>')
        anchor = "end" if mx > WIDTH * 0.7 else "start"
        dx = -4 if anchor == "end" else 4
        parts.append(f'<text x="{mx + dx:.1f}" y="{PAD_TOP - 6}" class="markerlabel" text-anchor="{anchor}" '
                     f'dominant-baseline="hanging">{escape(marker_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
