"""The loss curve of a run: ``loss.json`` (step, loss) and a small self-contained ``loss.svg``."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 480, 240, 40


def loss_svg(points: list[tuple[int, float]], title: str) -> str:
    """A line chart of ``(step, loss)``; an empty chart says there is nothing to plot."""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="{PAD}" y="16">{escape(title)}</text>')
    if not points:
        return head + f'<text x="{PAD}" y="{HEIGHT // 2}">no loss logged</text></svg>\n'
    steps = [s for s, _ in points]
    losses = [v for _, v in points]
    x0, x1 = min(steps), max(steps)
    y0, y1 = min(losses), max(losses)
    xs = (WIDTH - 2 * PAD) / (x1 - x0 or 1)
    ys = (HEIGHT - 2 * PAD) / (y1 - y0 or 1)

    def xy(step: int, loss: float) -> str:
        return f"{PAD + (step - x0) * xs:.1f},{HEIGHT - PAD - (loss - y0) * ys:.1f}"

    line = " ".join(xy(s, v) for s, v in points)
    axes = (f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#888"/>'
            f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#888"/>'
            f'<text x="{PAD}" y="{HEIGHT - PAD + 14}">step {x0}</text>'
            f'<text x="{WIDTH - PAD}" y="{HEIGHT - PAD + 14}" text-anchor="end">step {x1}</text>'
            f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{y1:.3g}</text>'
            f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end">{y0:.3g}</text>')
    return head + axes + f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{line}"/></svg>\n'
