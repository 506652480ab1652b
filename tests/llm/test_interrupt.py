"""Ctrl-C during an LLM step: no new request leaves after the signal, the calls in flight finish and are kept,
the command exits 130 at once, and the resumed run pays only for what is missing. The run is a real
``datamill run`` subprocess interrupted with SIGINT to its process group (what a terminal sends); the slow
server (1 s a call) records when every request arrives."""

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

import pytest
import yaml

from datamill.exec.run import run_recipe
from datamill.llm.cache import LLMCache
from datamill.recipe.load import load_recipe

N = 120
LATENCY = 1.0


def reply(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(body["messages"][0]["content"].encode()).hexdigest()
    return json.dumps({"label": "a" if int(digest[0], 16) % 2 else "b", "confidence": 0.9})


@pytest.mark.parametrize("concurrency", [1, 4])
def test_sigint_stops_issuing_keeps_answers_and_resumes(tmp_path: Path, mock_server: Any, concurrency: int) -> None:
    server = mock_server(rpm=None, latency=(LATENCY, LATENCY), error_rate=0.0, reply=reply)
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"item {i}", "output": "x"}) + "\n" for i in range(N)))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "interrupt", "inputs": [{"path": str(data)}],
        "llm": {"base_url": server.url, "model": "mock", "concurrency": concurrency},
        "steps": [{"llm_label": {"labels": ["a", "b"]}}],
        "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}))
    work = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "datamill", "run", str(recipe), "--workdir", str(work), "-q",
                             "--workers", "2"], start_new_session=True, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while server.state.stats()["paid"] < 2 * concurrency:  # a few rounds answered, the batch mostly unsent
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be interrupted"
        time.sleep(0.02)
    signalled = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    exited = time.monotonic() - signalled
    assert proc.returncode == 130, err.decode()
    assert b"interrupted" in err and b"Traceback" not in err, err.decode()
    assert exited < LATENCY + 3.0, exited  # waited for the calls in flight only, not the rest of the batch
    time.sleep(0.3)
    arrivals = list(server.state.arrivals)
    late = [t - signalled for t in arrivals if t > signalled + 0.2]
    assert late == []  # nothing was sent after the signal
    assert len(arrivals) < N
    paid = server.state.stats()["paid"]
    assert server.state.stats()["in_flight"] == 0
    cache = LLMCache(work / "cache" / "llm.sqlite")
    try:
        assert cache.count() == paid  # every answer received was kept, including those in flight at the signal
    finally:
        cache.close()

    server.state.latency = (0.0, 0.01)
    summary = run_recipe(load_recipe(recipe), work, workers=1)
    stats = server.state.stats()
    assert summary["reconciled"] and summary["totals"]["written"] == N
    assert stats["paid"] - paid == N - paid  # the resume paid only for what was missing
    assert stats["duplicates"] == 0 and stats["unique"] == N
