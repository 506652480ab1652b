"""Runs for the report tests: the demo recipe, and small recipes written by the tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe

ROOT = Path(__file__).resolve().parents[2]

XSS = ['<script>window.__xss = "script";</script>', '<img src=x onerror="window.__xss = \'img\'">',
       '"><svg onload="window.__xss = \'svg\'">', "</pre></textarea><script>window.__xss = 'break'</script>"]


def run_rows(root: Path, rows: list[dict[str, Any]], steps: list[Any], *, shard_size: int = 10_000,
             outputs: list[dict[str, Any]] | None = None, name: str = "t") -> dict[str, Any]:
    """Write ``rows`` (Alpaca JSON Lines) and a recipe with ``steps``; run it in ``root/run``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                     encoding="utf-8")
    recipe = {"name": name, "inputs": [{"path": "data.jsonl"}], "steps": steps,
              "outputs": outputs or [{"format": "jsonl", "path": "export/"}],
              "executor": {"shard_size": shard_size}}
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    return run_recipe(load_recipe(root / "recipe.yaml"), root / "run", workers=1)


def alpaca(n: int, *, offset: int = 0) -> list[dict[str, Any]]:
    return [{"instruction": f"question {i} " + "词" * (i % 7), "input": "",
             "output": f"answer {i} " + "x" * (i * 13 % 300), "topic": ["math", "poem", "code"][i % 3]}
            for i in range(offset, offset + n)]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """recipes/demo.yaml run once (its outputs go to the work directory)."""
    work = tmp_path_factory.mktemp("demo") / "run"
    recipe = tmp_path_factory.mktemp("demo-recipe")
    shutil.copytree(ROOT / "recipes" / "demo-data", recipe / "demo-data")
    shutil.copy(ROOT / "recipes" / "demo.yaml", recipe / "demo.yaml")
    run_recipe(load_recipe(recipe / "demo.yaml"), work, workers=1)
    return work


@pytest.fixture
def mock_server() -> Any:
    from datamill.llm.mockserver import MockServer, MockState

    servers: list[MockServer] = []

    def start(**kwargs: Any) -> MockServer:
        server = MockServer(MockState(**kwargs)).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()
