"""Shared by the training tests: the tiny model, a writer for small exports, a parameter snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.tiny_model import tiny_model_dir


@pytest.fixture(scope="session")
def tiny_model() -> str:
    return str(tiny_model_dir())


def arithmetic(n: int, start: int = 0) -> list[dict[str, Any]]:
    """Canonical SFT records: seed 003's shape (problem -> worked answer)."""
    return [{"id": f"a:{i}", "kind": "sft", "messages": [
        {"role": "user", "content": f"计算 {i} + {i * 3} 等于多少？"},
        {"role": "assistant", "content": f"计算过程：{i} + {i * 3} = {i * 4}"}]} for i in range(start, start + n)]


def write_export(folder: Path, records: list[dict[str, Any]], name: str = "train.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def snapshot_callback() -> Any:
    """A TrainerCallback that keeps every trainable parameter at the start and at the end of training."""
    from transformers import TrainerCallback

    class Snapshot(TrainerCallback):
        def __init__(self) -> None:
            self.before: dict[str, Any] = {}
            self.after: dict[str, Any] = {}

        @staticmethod
        def _take(model: Any) -> dict[str, Any]:
            return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            self.before = self._take(model)

        def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            self.after = self._take(model)

    return Snapshot()
