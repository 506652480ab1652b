"""Semantic dedup on REAL records: the exact eps-graph vs scikit-learn DBSCAN on MiniLM embeddings.

The graph benchmark (``bench_semantic.py``) uses synthetic vectors to reach 1M; this one checks the
claim "identical groups to DBSCAN(metric='cosine', min_samples=1)" on embeddings of real English
prompts from ``../shared/corpora`` (GSM8K train/test/socratic share questions, so real duplicates
exist; the English outputs of several MT systems for the same WMT segments are near-paraphrases;
ChatDoctor, Alpaca, MT-bench and WMT sources add variety). Embeddings go through
``dedup_semantic``'s own embed path with its SQLite cache in ``--cache`` (a re-run embeds nothing).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/dedup/bench_semantic_real.py --n 20000
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import time
from pathlib import Path

import numpy as np

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"


def english_prompts(limit: int) -> list[str]:
    """Prompts in a fixed order, exact repeats removed (semantic dedup runs after exact dedup)."""
    texts: list[str] = []
    for name in ("4_gsm8k/train.jsonl", "4_gsm8k/test.jsonl", "4_gsm8k/test_socratic.jsonl"):
        texts += [json.loads(line)["question"] for line in (CORPORA / name).read_text(encoding="utf-8").splitlines()]
    for name in ("5_chatdoctor/chatdoctor5k.json", "1_alpaca_en_sample/alpaca_data_sample.json",
                 "2_llamafactory/alpaca_en_demo.json"):
        texts += [" ".join(x for x in (r["instruction"], r.get("input", "")) if x)
                  for r in json.loads((CORPORA / name).read_text(encoding="utf-8"))]
    texts += [json.loads(line)["turns"][0] for line in
              (CORPORA / "2_fastchat_sharegpt/question.jsonl").read_text(encoding="utf-8").splitlines()]
    csv.field_size_limit(1 << 24)
    # WMT: English sources (en->de), and English outputs of several MT systems (zh->en: near-paraphrases)
    for name, column in (("7_wmt_mqm/mqm_ted_ende.tsv", "source"), ("7_wmt_mqm/mqm_ted_zhen.tsv", "target")):
        with open(CORPORA / name, encoding="utf-8") as fh:
            texts += [row[column].replace("<v>", "").replace("</v>", "")
                      for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]
    unique = list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))
    return unique[:limit]


def partition(labels: np.ndarray) -> set[tuple[int, ...]]:
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(labels.tolist()):
        groups.setdefault(g, []).append(i)
    return {tuple(m) for m in groups.values() if len(m) > 1}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/datamill-bench-semantic-real"))
    args = ap.parse_args()
    from sklearn.cluster import DBSCAN

    from datamill.steps.base import StepContext
    from datamill.steps.dedup.components import components
    from datamill.steps.dedup.embed import LocalEmbedder
    from datamill.steps.dedup.graph import eps_edges
    from datamill.steps.dedup.semantic import DedupSemantic, DedupSemanticParams

    texts = english_prompts(args.n)
    step = DedupSemantic(DedupSemanticParams(eps=args.eps))
    step.context = StepContext.detached(args.cache)
    embedder = LocalEmbedder("default", "auto", 64)
    t = time.perf_counter()
    vectors, info = step._embed(embedder, texts)
    embed_s = time.perf_counter() - t
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    print(f"{len(texts):,} real English prompts embedded with all-MiniLM-L6-v2 in {embed_s:.1f} s "
          f"({info.get('embedded', '?')} new, rest from the cache)\n")

    rows = []
    t = time.perf_counter()
    a, b = eps_edges(x, args.eps, "exact")
    exact = components(len(x), a, b)
    rows.append(("exact eps-graph (tiled BLAS) + components", time.perf_counter() - t, exact))
    t = time.perf_counter()
    ca, cb = eps_edges(x, args.eps, "clustered", nprobe=4)
    clustered = components(len(x), ca, cb)
    rows.append(("clustered, nprobe 4", time.perf_counter() - t, clustered))
    t = time.perf_counter()
    db = DBSCAN(eps=args.eps, min_samples=1, metric="cosine").fit(x).labels_
    rows.append(("sklearn DBSCAN(metric='cosine', min_samples=1)", time.perf_counter() - t, db))
    reference = partition(exact)
    exact_pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    print("| method | seconds | groups of 2+ | records in them | groups equal to the exact graph's | pairs |")
    print("|---|---:|---:|---:|---|---:|")
    for name, s, labels in rows:
        groups = partition(labels)
        pairs = len(exact_pairs) if labels is exact else (len(set(zip(ca.tolist(), cb.tolist(), strict=True)))
                                                           if labels is clustered else "")
        print(f"| {name} | {s:.1f} | {len(groups):,} | {sum(len(g) for g in groups):,} | "
              f"{'identical' if groups == reference else f'{len(groups & reference):,} shared'} | {pairs} |")
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB; "
          f"eps {args.eps}")
    largest = max(partition(exact), key=len, default=())
    print(f"largest exact group: {len(largest)} records, e.g. {[texts[i][:60] for i in list(largest)[:3]]}")


if __name__ == "__main__":
    main()
