"""The review app in a real browser (Debian's chromium via Playwright): keyboard decisions, edits, undo,
reload, restart, two reviewers' agreement, record markup shown as text, and the next run applying it all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe
from datamill.review.server import ReviewApp, start_background
from fixtures.browser import offline_page
from report.conftest import XSS
from review.conftest import make_review_run


def at(page: Any, record_id: str) -> None:
    page.wait_for_selector(f'#view[data-id="{record_id}"]')


def progress(page: Any) -> int:
    return int(page.locator("#progress").get_attribute("data-reviewed"))


def wait_progress(page: Any, n: int) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#progress")).to_have_attribute("data-reviewed", str(n))


def test_keyboard_review_is_kept_and_applied_by_the_next_run(browser: Any, tmp_path: Path) -> None:
    run = make_review_run(tmp_path)
    server = start_background(ReviewApp(run))
    origin = server.url.split("/?")[0]
    page, blocked = offline_page(browser, origin)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server.url)
    at(page, "data:0")
    assert page.locator("#progress").inner_text().endswith("reviewed 0 / 20 (0%)")
    page.fill("#reviewer", "ann")
    page.keyboard.press("Escape")  # leave the name field: keys now act on the record
    page.keyboard.press("a")
    at(page, "data:1")
    page.keyboard.press("r")
    at(page, "data:3")
    page.keyboard.press("e")
    page.wait_for_selector("#edit-answer:focus")
    page.fill("#edit-answer", "an answer fixed by hand")
    page.keyboard.press("Control+Enter")
    at(page, "data:4")
    wait_progress(page, 3)
    page.keyboard.press("u")  # take back the edit
    at(page, "data:3")
    wait_progress(page, 2)
    assert page.locator("#view").get_attribute("data-status") == "unreviewed"
    page.keyboard.press("e")
    page.fill("#edit-answer", "an answer fixed by hand")
    page.keyboard.press("Control+Enter")
    at(page, "data:4")
    wait_progress(page, 3)
    page.keyboard.press("k")
    at(page, "data:3")
    assert page.locator("#view").get_attribute("data-status") == "edited"
    assert "an answer fixed by hand" in page.locator("#view pre.edited").inner_text()

    page.reload()  # decisions are on the server, not in the page
    at(page, "data:0")
    assert page.locator("#view").get_attribute("data-status") == "accepted"
    assert progress(page) == 3
    assert page.locator('#list li[data-id="data:1"] .dot.rejected').count() == 1

    # records holding markup are shown as text, and nothing in them runs
    page.keyboard.press("/")
    page.keyboard.type("markup")
    page.keyboard.press("Enter")
    from playwright.sync_api import expect

    expect(page.locator("#list li")).to_have_count(4)
    shown = []
    for i in range(len(XSS)):
        at(page, f"data:{24 + i}")
        shown.append(page.locator("#view").inner_text())
        page.keyboard.press("j")
    assert all(any(x in text for text in shown) for x in XSS)
    assert page.evaluate("window.__xss") is None and dialogs == []
    assert page.locator("#view img, #view script, #view svg").count() == 0
    assert blocked == []  # no request left the server
    page.close()
    server.stop()

    # a second reviewer, after a restart (new token): agreement on the records both decided
    server = start_background(ReviewApp(run))
    page, _ = offline_page(browser, server.url.split("/?")[0])
    page.goto(server.url)
    at(page, "data:0")
    assert progress(page) == 3
    page.fill("#reviewer", "bob")
    page.keyboard.press("Escape")
    page.keyboard.press("r")  # bob rejects data:0 (ann accepted it): the latest decision wins
    page.keyboard.press("r")  # typed at once: decides data:1 (agreeing with ann), not data:0 twice
    at(page, "data:3")
    page.click('button[data-tab="agreement"]')
    page.wait_for_selector("#agreement table.grid >> nth=1")
    row = page.locator("#agreement table.grid").nth(1).locator("tr").nth(1).locator("td").all_inner_texts()
    assert row[:3] == ["ann & bob", "2", "0.5"]
    page.close()
    server.stop()

    summary = run_recipe(load_recipe(tmp_path / "recipe.yaml"), run, workers=1)
    assert summary["totals"]["dropped"]["human_rejected"] == 2
    assert "01-filter: unchanged, skipped (resume)" in summary["log"]
    exported = {json.loads(x)["id"]: json.loads(x) for p in (run / "export").glob("*.jsonl")
                for x in p.read_text(encoding="utf-8").splitlines()}
    assert "data:0" not in exported and "data:1" not in exported
    assert exported["data:3"]["messages"][-1]["content"] == "an answer fixed by hand"
    assert exported["data:3"]["meta"]["review"]["reviewer"] == "ann"
