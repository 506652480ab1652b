"""The build report in a real browser (Debian's chromium via Playwright), with every request that is not
the report file itself failing: it renders, shows the summary's numbers and runs no record text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datamill.report.build import build_report
from fixtures.browser import offline_page
from report.conftest import XSS, run_rows


def test_report_renders_offline_with_the_summary_numbers(browser: Any, demo_run: Path) -> None:
    files = build_report(demo_run)
    summary = json.loads((demo_run / "summary.json").read_text())
    url = files.html.as_uri()
    page, blocked = offline_page(browser, url)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    assert blocked == [] and requests == [url]  # the page asked for nothing but itself
    totals = summary["totals"]
    kpi = {k: page.locator(f'[data-kpi="{k}"] .v').inner_text() for k in ("read", "written", "dropped", "quarantined")}
    assert kpi == {"read": f"{totals['read']:,}", "written": f"{totals['written']:,}",
                   "dropped": f"{sum(totals['dropped'].values()):,}", "quarantined": f"{totals['quarantined']:,}"}
    for stage in summary["steps"]:
        cells = page.locator(f'table.funnel tr[data-stage="{stage["name"]}"] td').all_inner_texts()
        assert cells[:4] == [stage["name"], f"{stage['in']:,}", f"{stage['out']:,}",
                             f"{sum(stage['dropped'].values()):,}"]
    assert page.locator("section#composition").is_visible()
    assert page.locator("svg.hist").count() >= 2
    page.close()


def test_record_text_renders_as_text(browser: Any, tmp_path: Path) -> None:
    rows = [{"instruction": x, "input": "", "output": f"answer {x}", "topic": "t"} for x in XSS]
    rows += [{"instruction": "drop " + x, "input": "", "output": "", "topic": "t"} for x in XSS]
    run_rows(tmp_path, rows, [{"filter": {"expr": "len(answer) > 0", "reason": "empty_answer"}}])
    files = build_report(tmp_path / "run")
    url = files.html.as_uri()
    page, blocked = offline_page(browser, url)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    for details in page.locator("details").all():
        details.evaluate("d => d.open = true")
    text = page.locator("body").inner_text()
    assert page.evaluate("window.__xss") is None and dialogs == [] and blocked == []
    assert page.locator("main script, main img, main svg[onload]").count() == 0
    for x in XSS:
        assert x in text  # shown literally, as a person typed it
    page.close()
