"""``hf://org/name`` inputs, offline, from a hand-built Hugging Face hub cache.

``datasets`` and ``huggingface_hub`` read HF_HUB_OFFLINE / HF_HOME / HF_HUB_CACHE when they are first
imported, so the reading runs in a subprocess that inherits the monkeypatched environment (another
test may already have imported ``datasets`` in this process). HF_ENDPOINT points at a closed port so
that any attempt to use the network would fail loudly instead of reaching the internet.

How ``datasets`` 5.x behaves offline (checked against 5.2): ``load_dataset("org/name")`` raises
"Couldn't reach 'org/name' on the Hub (OfflineModeIsEnabled)" and then looks only in its processed
Arrow cache (``HF_DATASETS_CACHE/org___name``); it never looks at repository files already in the
hub cache. The reader therefore falls back to ``snapshot_download(local_files_only=True)`` and loads
the snapshot folder; this test exercises exactly that path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("datasets")

REVISION = "0123456789abcdef0123456789abcdef01234567"
SCRIPT = """
import json, sys
from datamill.errors import InputError
from datamill.io.read import read_rows
from datamill.io.sources import expand_input
from datamill.recipe.model import InputSpec
spec = InputSpec.model_validate(json.loads(sys.argv[1]))
try:
    out = []
    for source in expand_input(spec, __import__("pathlib").Path(".")):
        out.extend({"value": r.value, "location": r.location, "error": r.error} for r in read_rows(source))
    print(json.dumps({"rows": out}))
except InputError as exc:
    print(json.dumps({"error": exc.message, "hint": exc.hint}))
"""


def _fake_repo(hub: Path, repo: str, files: dict[str, pa.Table | str]) -> None:
    root = hub / ("datasets--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / REVISION
    for rel, content in files.items():
        path = snapshot / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            pq.write_table(content, path)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(REVISION)


@pytest.fixture
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hf-home"
    hub = home / "hub"
    _fake_repo(hub, "org/name", {
        "data/train-00000-of-00001.parquet": pa.table({"text": ["a", "b", "c"], "n": [1, 2, 3]}),
        "data/test-00000-of-00001.parquet": pa.table({"text": ["t"], "n": [9]}),
    })
    _fake_repo(hub, "org/chat", {
        "data/train-00000-of-00001.jsonl": '{"messages": [{"role": "user", "content": "hi"}]}\n',
    })
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    for name in ("HF_DATASETS_CACHE", "HF_DATASETS_OFFLINE", "HF_TOKEN", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    return home


def run(spec: dict[str, Any], cwd: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(spec)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_offline_rows_from_hub_cache(offline_hub: Path, tmp_path: Path) -> None:
    result = run({"path": "hf://org/name"}, tmp_path)
    assert result == {"rows": [
        {"value": {"text": "a", "n": 1}, "location": "hf://org/name:train#0", "error": None},
        {"value": {"text": "b", "n": 2}, "location": "hf://org/name:train#1", "error": None},
        {"value": {"text": "c", "n": 3}, "location": "hf://org/name:train#2", "error": None},
    ]}


def test_offline_split_and_jsonl_repo(offline_hub: Path, tmp_path: Path) -> None:
    result = run({"path": ["hf://org/name", "hf://org/chat"], "options": {"split": "test"}}, tmp_path)
    assert result["error"].startswith("cannot load hf://org/chat")
    result = run({"path": "hf://org/name", "options": {"split": "test"}}, tmp_path)
    row = {"value": {"text": "t", "n": 9}, "location": "hf://org/name:test#0", "error": None}
    assert result == {"rows": [row]}
    result = run({"path": "hf://org/chat"}, tmp_path)
    assert result["rows"] == [{"value": {"messages": [{"role": "user", "content": "hi"}]},
                               "location": "hf://org/chat:train#0", "error": None}]


def test_offline_missing_dataset_is_an_input_error(offline_hub: Path, tmp_path: Path) -> None:
    result = run({"path": "hf://org/absent"}, tmp_path)
    assert str(result["error"]).startswith("cannot load hf://org/absent")
    assert "HF_HUB_CACHE" in str(result["hint"])
