"""The rate and crash guarantees, end to end against the local rate-enforcing server."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data

N = 160


def reply(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(body["messages"][0]["content"].encode()).hexdigest()
    return json.dumps({"label": "a" if int(digest[0], 16) % 2 else "b", "confidence": int(digest[1], 16) / 15})


def recipe(tmp_path: Path, url: str, rpm: float, n: int = N) -> dict[str, Any]:
    data = tmp_path / "in.jsonl"
    if not data.exists():
        data.write_text("".join(json.dumps({"instruction": f"item {i}", "output": "x"}) + "\n" for i in range(n)))
    return {"name": "r", "inputs": [{"path": str(data)}], "llm": {"base_url": url, "model": "mock", "rpm": rpm},
            "steps": [{"llm_label": {"labels": ["a", "b"]}}],
            "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}


def test_rate_20s_reaches_the_limit_without_loss_or_duplicates(tmp_path: Path, mock_server: Any) -> None:
    server = mock_server(rpm=600, latency=(0.3, 1.5), error_rate=0.02, reply=reply)
    summary = run_recipe(load_recipe_data(recipe(tmp_path, server.url, 600, n=200), tmp_path), tmp_path / "run",
                         workers=2)
    stats = server.state.stats()
    assert summary["reconciled"] and summary["totals"]["written"] == 200
    assert stats["duplicates"] == 0 and stats["unique"] == 200
    assert stats["admitted_rpm"] >= 0.95 * 600, stats
    assert stats["admitted_rpm"] <= 600 * 1.02, stats


def test_sigkill_mid_step_then_resume(tmp_path: Path, mock_server: Any) -> None:
    reference = mock_server(rpm=None, latency=(0.0, 0.01), error_rate=0.0, reply=reply)
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    run_recipe(load_recipe_data(recipe(ref_dir, reference.url, 6000), ref_dir), ref_dir / "run", workers=2)
    expected = (ref_dir / "run" / "export" / "data.jsonl").read_text()

    server = mock_server(rpm=1200, latency=(0.3, 0.6), error_rate=0.0, reply=reply)
    work = tmp_path / "crash"
    work.mkdir()
    (work / "recipe.json").write_text(json.dumps(recipe(work, server.url, 1200)))
    script = ("import json, sys; from pathlib import Path; from datamill.exec.run import run_recipe; "
              "from datamill.recipe.load import load_recipe_data; w = Path(sys.argv[1]); "
              "run_recipe(load_recipe_data(json.loads((w / 'recipe.json').read_text()), w), w / 'run', workers=2)")
    proc = subprocess.Popen([sys.executable, "-c", script, str(work)], start_new_session=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while server.state.stats()["paid"] < 40:
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)  # the server finishes (and counts) the calls that were in flight
    paid_before = server.state.stats()["paid"]
    assert paid_before < N
    # in flight at the kill = calls the server answered whose answer never reached the cache
    from datamill.llm.cache import LLMCache

    in_flight = paid_before - LLMCache(work / "run" / "cache" / "llm.sqlite").count()
    assert in_flight <= 20  # ~ rate x latency (20/s x 0.3-0.6 s), not the whole batch
    summary = run_recipe(load_recipe_data(recipe(work, server.url, 1200), work), work / "run", workers=2)
    stats = server.state.stats()
    assert summary["reconciled"]
    assert stats["duplicates"] <= in_flight, (stats, in_flight)
    assert stats["unique"] == N
    assert (work / "run" / "export" / "data.jsonl").read_text() == expected
