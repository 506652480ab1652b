"""The review server: loopback only, a token on every request, no file outside the run, JSON API."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from datamill.cli import app
from datamill.review.server import ReviewApp, start_background


def request(url: str, path: str, *, token: str | None, method: str = "GET", body: Any = None,
            host: str | None = None) -> tuple[int, bytes]:
    port = int(url.split(":")[2].split("/")[0])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": host or f"127.0.0.1:{port}"}
    if token is not None:
        headers["X-Review-Token"] = token
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    status, payload = response.status, response.read()
    conn.close()
    return status, payload


@pytest.fixture
def served(review_run: Path) -> Any:
    running = start_background(ReviewApp(review_run))
    yield running
    running.stop()


def test_binds_to_loopback_and_refuses_requests_without_the_token(served: Any) -> None:
    assert served.server.server_address[0] == "127.0.0.1"
    url, token = served.url, served.server.token
    assert request(url, "/", token=None)[0] == 403
    assert request(url, "/api/meta", token="wrong")[0] == 403
    assert request(url, "/api/meta", token=token[:-1])[0] == 403
    assert request(url, f"/api/meta?token={token}x", token=None)[0] == 403
    assert request(url, "/api/meta", token=token, host="evil.example:80")[0] == 403  # DNS rebinding
    status, page = request(url, f"/?token={token}", token=None)
    assert status == 200 and b"datamill review" in page
    assert request(url, "/api/meta", token=token)[0] == 200


def test_no_file_outside_the_run_is_readable(served: Any, review_run: Path) -> None:
    url, token = served.url, served.server.token
    secret = review_run.parent.parent / "secret.txt"
    secret.write_text("TOP-SECRET")
    for path in ("/../../../../etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd", "/steps/00-read/stats.json",
                 "/summary.json", f"/api/item?id={quote('../../secret.txt')}", "/api/item?id=/etc/passwd",
                 f"/api/items?q=x&stage={quote('../../..')}", "//etc/passwd"):
        status, body = request(url, path, token=token)
        assert b"root:" not in body and b"TOP-SECRET" not in body, path
        assert status in (200, 404), path
        if not path.startswith("/api/items"):
            assert status == 404, path


def test_decisions_through_the_api_survive_a_restart(review_run: Path) -> None:
    running = start_background(ReviewApp(review_run))
    url, token = running.url, running.server.token
    ids = json.loads(request(url, "/api/items", token=token)[1])["ids"]
    assert len(ids) == 20  # 28 rows, 8 dropped by the filter
    for body, expected in [
        ({"reviewer": "ann", "id": ids[0], "decision": "accept"}, 200),
        ({"reviewer": "ann", "id": ids[1], "decision": "reject"}, 200),
        ({"reviewer": "ann", "id": ids[2], "decision": "edit", "edit": {"answer": "better"}}, 200),
        ({"reviewer": "", "id": ids[3], "decision": "accept"}, 400),
        ({"reviewer": "ann", "id": "no-such-id", "decision": "accept"}, 400),
        ({"reviewer": "ann", "id": ids[3], "decision": "maybe"}, 400),
        ({"reviewer": "ann", "id": ids[3], "decision": "edit", "edit": {"meta.secret": "x"}}, 400),
    ]:
        status, payload = request(url, "/api/decide", token=token, method="POST", body=body)
        assert status == expected, (body, payload)
    status, payload = request(url, "/api/decide", token=None, method="POST",
                              body={"reviewer": "eve", "id": ids[4], "decision": "reject"})
    assert status == 403
    running.stop()
    again = start_background(ReviewApp(review_run))
    assert again.server.token != token  # a new token per start
    status, payload = request(again.url, f"/api/item?id={quote(ids[2])}", token=again.server.token)
    item = json.loads(payload)
    assert item["effective"]["decision"] == "edit" and item["effective"]["edit"] == {"answer": "better"}
    assert item["effective"]["original"]["answer"] == item["answer"]
    meta = json.loads(request(again.url, "/api/meta", token=again.server.token)[1])
    assert meta["progress"]["reviewed"] == 3 and meta["progress"]["total"] == 20
    rejected = json.loads(request(again.url, "/api/items?status=rejected", token=again.server.token)[1])["ids"]
    assert rejected == [ids[1]]
    again.stop()


def test_filters(review_run: Path) -> None:
    served = start_background(ReviewApp(review_run, "split"))  # the last stage: records have a split
    url, token = served.url, served.server.token

    def ids(query: str) -> list[str]:
        return list(json.loads(request(url, "/api/items?" + query, token=token)[1])["ids"])

    assert len(ids("split=train")) == 15 and len(ids("split=test")) == 5
    assert ids("q=QUESTION%203%20") == ["data:3"]  # case-insensitive text search
    assert ids("q=" + quote("词词词词")) == [f"data:{i}" for i in range(24) if i % 3 != 2 and i % 7 >= 4]
    assert len(ids("q=" + quote('window.__xss = "script"'))) == 1  # quotes are escaped in the stored JSON
    assert ids("source=nope") == []
    served.stop()


def test_cli_serves_on_loopback_with_a_token_and_exports(review_run: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "datamill.cli", "review", str(review_run)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = ""
        for _ in range(5):
            line = proc.stdout.readline()
            if line.startswith("open "):
                url = line.split()[1]
                break
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]{20,})", url)
        assert match, url
        token = match.group(2)
        assert request(url, "/api/meta", token=None)[0] == 403
        status, _ = request(url, "/api/decide", token=token, method="POST",
                            body={"reviewer": "cli", "id": "data:0", "decision": "reject"})
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(10)
    result = CliRunner().invoke(app, ["review", str(review_run), "--export"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [(x["reviewer"], x["id"], x["decision"]) for x in lines] == [("cli", "data:0", "reject")]
    assert {"at", "event", "stage"} <= set(lines[0])


def test_labels_scores_tags_filters_and_label_choices(tmp_path: Path) -> None:
    from report.conftest import run_rows

    rows = [{"kind": "sft", "category": ["good", "bad"][i % 2], "scores": {"quality": i / 10},
             "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}],
             "tags": ["needs_review"] if i < 3 else []} for i in range(10)]
    run_rows(tmp_path, rows, [])
    app = ReviewApp(tmp_path / "run")

    def ids(**query: str) -> list[str]:
        return list(app.list_items(query)["ids"])

    assert ids(label="bad") == [f"data:{i}" for i in range(1, 10, 2)]
    assert ids(score="quality", min="0.35", max="0.7") == [f"data:{i}" for i in (4, 5, 6, 7)]
    assert ids(score="quality", min="0.35", label="good") == [f"data:{i}" for i in (4, 6, 8)]
    assert ids(tag="needs_review") == ["data:0", "data:1", "data:2"]
    app.decide({"reviewer": "ann", "id": "data:4", "decision": "edit", "edit": {"category": "bad"}})
    assert ids(status="edited") == ["data:4"] and len(ids(status="unreviewed")) == 9
    meta = app.meta()
    assert meta["facets"]["scores"] == ["quality"] and meta["label_choices"] == ["bad", "good"]
    with pytest.raises(ValueError, match="answer"):
        app.decide({"reviewer": "ann", "id": "data:4", "decision": "edit", "edit": {"scores.quality": "1"}})


def test_dedup_clusters_are_reviewed_and_reported(tmp_path: Path) -> None:
    pytest.importorskip("rensa", reason="rensa not installed (pip install 'datamill[dedup]')")
    from datamill.report.build import build_report
    from report.conftest import run_rows

    base = "the quick brown fox jumps over the lazy dog near the river bank today"
    rows = [{"instruction": base + (" again" * (i % 3)) + f" {'!' * g}", "input": "", "output": "same"}
            for g in range(2) for i in range(4)]
    rows += [{"instruction": f"another topic {i} entirely different words here", "input": "", "output": "x"}
             for i in range(4)]
    run_rows(tmp_path, rows, [{"dedup_minhash": {"on": "prompt", "threshold": 0.5}}])
    app = ReviewApp(tmp_path / "run")
    clusters = app.cluster_list()["clusters"]
    assert clusters and all(c["decision"] is None for c in clusters)
    key = clusters[0]["key"]
    assert key.startswith("01-dedup_minhash:")
    app.decide({"reviewer": "ann", "item": "cluster", "id": key, "decision": "accept"})
    with pytest.raises(ValueError):
        app.decide({"reviewer": "ann", "item": "cluster", "id": "../../x", "decision": "accept"})
    assert app.cluster_list()["clusters"][0]["decision"] == "accept"
    assert app.progress(app.store.snapshot())["clusters_reviewed"] == 1
    model = json.loads(build_report(tmp_path / "run").json.read_text())
    assert model["review"]["clusters"] == 1 and model["review"]["clusters_confirmed"] == 1


def test_stage_choice_and_limit(review_run: Path) -> None:
    from datamill.errors import InputError
    from datamill.review.items import pick_stage

    assert pick_stage(review_run, None).name == "01-filter"  # the stage review_apply reads
    assert pick_stage(review_run, "3").name == pick_stage(review_run, "split").name == "03-split"
    assert pick_stage(review_run, "02-review_apply").name == "02-review_apply"
    with pytest.raises(InputError, match="no finished stage 'nope'"):
        pick_stage(review_run, "nope")
    small = ReviewApp(review_run, limit=5)
    assert len(small.items) == 5 and small.items.total_in_stage == 20
    assert small.meta()["total_in_stage"] == 20
