"""Semantic-dedup graph benchmark: datamill's eps-graph (faiss) vs scikit-learn DBSCAN, and 1M vectors.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup/bench_semantic.py --sizes 20000,100000 --dbscan-cap 300
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/dedup/bench_semantic.py --sizes 1000000 --methods clustered

Vectors (d=384, L2-normalized): 1,000 topic directions; each original = its topic mixed with its own
random direction (cosine to topic-mates ~0.3, far below 1 - eps); 40% of originals get 1-2 planted
near copies at cosine 0.88-0.99 to the original, so some copy pairs fall just outside eps = 0.1.
Every method runs in a fresh subprocess (its peak RSS is the method's, counted in full: vectors +
index + edges); DBSCAN runs under a time cap. Pair recall is against the exact eps-graph: at sizes
where the flat search is too slow here, the exact graph is computed within the planted groups, which
is exact for this data because different groups are far apart (max cosine across groups is checked
to stay below 1 - eps on a sample, and equals the flat search at <= 100k, see the table).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from datamill.steps.dedup.components import components
from datamill.steps.dedup.graph import eps_edges

EPS = 0.1
DIM = 384


def vectors(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors and their planted group (original index), generated in chunks (1M x 384 = 1.5 GB)."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(1000, DIM)).astype(np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    copies = np.where(rng.random(n) < 0.4, rng.integers(1, 3, n), 0)
    group = np.repeat(np.arange(n), 1 + copies)[:n]
    x = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        g = group[start:start + 100_000]
        uniq, first = np.unique(g, return_index=True)
        own = np.random.default_rng([seed, int(start)]).normal(size=(len(uniq), DIM)).astype(np.float32)
        own /= np.linalg.norm(own, axis=1, keepdims=True)
        base = 0.55 * topics[uniq % 1000] + 0.835 * own
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        rows = base[np.searchsorted(uniq, g)]
        is_copy = np.ones(len(g), dtype=bool)
        is_copy[first] = False
        target = rng.uniform(0.88, 0.99, int(is_copy.sum())).astype(np.float32)  # cosine to the original
        noise = rng.normal(size=(len(target), DIM)).astype(np.float32)
        noise -= (noise * rows[is_copy]).sum(1, keepdims=True) * rows[is_copy]
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        rows[is_copy] = target[:, None] * rows[is_copy] + np.sqrt(1 - target**2)[:, None] * noise
        x[start:start + len(g)] = rows
    return x, group


def planted_graph_pairs(x: np.ndarray, group: np.ndarray) -> set[tuple[int, int]]:
    """Pairs within eps inside the planted groups (the exact graph for this data; see the module doc)."""
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, len(group)])
    out: set[tuple[int, int]] = set()
    for k in (2, 3):
        s = starts[sizes == k]
        for i in range(k):
            for j in range(i + 1, k):
                sim = np.einsum("ij,ij->i", x[s + i], x[s + j])
                keep = s[sim >= 1 - EPS]
                out.update(zip((keep + i).tolist(), (keep + j).tolist(), strict=True))
    return out


def run_one(method: str, n: int, nlist: int | None, nprobe: int) -> dict[str, object]:
    """One method on n vectors in this process: seconds (graph + components), groups, pairs found."""
    x, group = vectors(n)
    started = time.perf_counter()
    if method == "dbscan":
        from sklearn.cluster import DBSCAN

        labels = DBSCAN(eps=EPS, min_samples=1, metric="cosine").fit(x).labels_
        pairs: set[tuple[int, int]] | None = None
    else:
        a, b = eps_edges(x, EPS, "exact" if method == "exact" else "clustered", nlist, nprobe)
        labels = components(n, a, b)
        pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    seconds = time.perf_counter() - started
    result: dict[str, object] = {"method": method, "n": n, "seconds": round(seconds, 1),
                                 "groups": len(np.unique(labels)),
                                 "rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    canon = np.unique(labels, return_inverse=True)[1]  # partition as first-seen labels, comparable across methods
    first = np.full(canon.max() + 1, n)
    np.minimum.at(first, canon, np.arange(n))
    result["partition_hash"] = int(np.bitwise_xor.reduce(first[canon] * 2654435761 + np.arange(n)) % 2**61)
    if pairs is not None:
        truth = planted_graph_pairs(x, group)
        result["pairs"] = len(pairs)
        result["truth_pairs"] = len(truth)
        result["pair_recall"] = round(len(pairs & truth) / max(len(truth), 1), 5)
        result["extra_pairs"] = len(pairs - truth)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--methods", default="exact,clustered,dbscan")
    ap.add_argument("--dbscan-cap", type=int, default=300, help="seconds before DBSCAN is stopped")
    ap.add_argument("--nlist", type=int, default=None)
    ap.add_argument("--nprobe", type=int, default=None)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        method, n = args.one.split(":")
        from datamill.steps.dedup.semantic import DedupSemanticParams

        nprobe = args.nprobe or DedupSemanticParams().nprobe
        print(json.dumps(run_one(method, int(n), args.nlist, nprobe)))
        return
    print("| vectors | method | seconds | peak RSS GB | groups | pairs | pair recall vs exact graph | extra pairs |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        hashes: dict[str, int] = {}
        for method in args.methods.split(","):
            cmd = [sys.executable, __file__, "--one", f"{method}:{n}"]
            cmd += ["--nlist", str(args.nlist)] if args.nlist else []
            cmd += ["--nprobe", str(args.nprobe)] if args.nprobe else []
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                     timeout=args.dbscan_cap if method == "dbscan" else None)
            except subprocess.TimeoutExpired:
                print(f"| {n:,} | dbscan | > {args.dbscan_cap} (stopped) | | | | | |")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            hashes[method] = int(r["partition_hash"])
            print(f"| {n:,} | {method} | {r['seconds']} | {r['rss_gb']} | {r['groups']:,} | {r.get('pairs', '')} | "
                  f"{r.get('pair_recall', '')} | {r.get('extra_pairs', '')} |", flush=True)
        if "dbscan" in hashes and "exact" in hashes:
            same = "identical" if hashes["dbscan"] == hashes["exact"] else "DIFFERENT"
            print(f"| {n:,} | exact vs DBSCAN groups | {same} | | | | | |", flush=True)


if __name__ == "__main__":
    main()
