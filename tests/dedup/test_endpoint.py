"""Semantic dedup and semantic leakage through an OpenAI-compatible /v1/embeddings server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datamill.steps.base import StepContext
from datamill.steps.dedup.leakage import CheckLeakage, CheckLeakageParams
from datamill.steps.dedup.semantic import DedupSemantic, DedupSemanticParams
from steps.helpers import chat, ids, run_global_step

pytest.importorskip("faiss")

BASE = "how do i bake a chocolate cake at home with simple tools and cheap ingredients for a party"


def test_semantic_dedup_through_the_endpoint(embeddings_server: dict[str, Any], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_EMBED_KEY", "sekret")
    records = [
        chat("a", BASE, "x"),
        chat("b", BASE.replace("party", "birthday"), "y"),  # one word changed: cosine ~0.95
        chat("c", "explain the rules of chess to a beginner in short simple sentences please", "z"),
        chat("d", "", "empty prompts are never compared"),
    ]
    params = DedupSemanticParams(endpoint=embeddings_server["url"], model="test-embed", api_key_env="TEST_EMBED_KEY",
                                 batch_size=2, eps=0.1)
    step = DedupSemantic(params)
    step.context = StepContext.detached(tmp_path)
    kept, dropped = run_global_step(step, records, shard_size=2)
    assert ids(kept) == ["a", "c", "d"]
    [(record, drop)] = dropped
    assert record["id"] == "b" and drop.detail["duplicate_of"] == "a" and 0.9 <= drop.detail["similarity"] < 1
    reqs = embeddings_server["requests"]
    assert [r["n"] for r in reqs] == [2, 1]  # batch_size respected, the empty text not sent
    assert all(r["model"] == "test-embed" and r["auth"] == "Bearer sekret" for r in reqs)
    assert step.report()["languages"]["other"]["unk_ratio"] is None  # not measurable through an API
    # the vectors are cached by content: a second run sends nothing
    again = DedupSemantic(params)
    again.context = StepContext.detached(tmp_path)
    run_global_step(again, records, shard_size=2)
    assert len(reqs) == 2
    assert again.report()["embedding"][params.model]["from_cache"] == 3


def test_semantic_leakage(embeddings_server: dict[str, Any], tmp_path: Path) -> None:
    records = [
        chat("t1", BASE, "a", split="train"),
        chat("e1", BASE.replace("cheap", "affordable"), "b", split="test"),  # a paraphrase-ish leak
        chat("e2", "explain the rules of chess to a beginner in short simple sentences please", "c", split="test"),
        chat("v1", "explain the rules of chess to a beginner in short simple sentences", "d", split="valid"),
    ]
    step = CheckLeakage(CheckLeakageParams(method="semantic", action="remove",
                                           semantic={"endpoint": embeddings_server["url"], "eps": 0.1}))
    step.context = StepContext.detached(tmp_path)
    _, dropped = run_global_step(step, records, shard_size=3)
    assert [r["id"] for r, _ in dropped] == ["e1"]  # e2 ~ v1 both evaluation: not a leak
    assert dropped[0][1].detail["duplicate_of"] == "t1" and dropped[0][1].detail["split"] == "test"
    assert step.report()["by_split"]["test"] == {"records": 2, "leaked": 1}
    assert (tmp_path / "cache" / "embeddings").is_dir()
    with pytest.raises(ValueError, match="eps"):
        CheckLeakageParams(method="semantic", semantic={"eps": 2})
