"""Semantic-dedup graph benchmark: datamill's eps-graph (exact, clustered) vs scikit-learn DBSCAN, up to 1M vectors.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup/bench_semantic.py --sizes 20000,100000 --dbscan-cap 300
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/dedup/bench_semantic.py --sizes 1000000 --methods clustered

Vectors (d=384, L2-normalized): 1,000 topic directions; each original = its topic mixed with its own
random direction (cosine to topic-mates ~0.3, far below 1 - eps); 40% of originals get 1-2 planted
near copies at cosine 0.88-0.99 to the original, so some copy pairs fall just outside eps = 0.1.
Every method runs in a fresh subprocess (its peak RSS is the method's, counted in full: generated
vectors + index + edges; its seconds are graph + components); DBSCAN runs under a time cap.

Pair recall against the EXACT eps-graph, estimated without computing it (1M x 1M is ~4e14 flops):
``--recall-sample K`` rows are drawn uniformly at random (seeded) and their exact neighbourhoods
computed against all n rows by brute force (K x n tiled BLAS, in its own subprocess, so neither the
time nor the memory of this check is counted in any method's). That gives every exact pair touching
a sampled row; each exact pair is in this set with the same probability, so the share of them a
method found estimates its recall over the whole graph (a ratio estimator: consistent, unbiased up to
O(1/K)). The 95% interval is Wilson's over these pairs, which are not independent (pairs share rows
and groups), so it is approximate. The method's pairs touching sampled rows that are NOT exact pairs
are counted too (must be 0 up to float ties at eps: the clustered mode can only miss pairs). Where
``exact`` runs at the same size its full graph also gives the true recall, to check the estimate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from datamill.steps.dedup.components import components
from datamill.steps.dedup.graph import TILE, Tiles, eps_edges, similarity_threshold

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


def run_one(method: str, n: int, nlist: int | None, nprobe: int, edges_file: Path) -> dict[str, object]:
    """One method on n vectors in this process: seconds (graph + components), peak RSS and groups, measured
    before anything else; then its edges (with their cosine) saved to ``edges_file`` for the recall check."""
    x, _ = vectors(n)
    started = time.perf_counter()
    if method == "dbscan":
        from sklearn.cluster import DBSCAN

        labels = DBSCAN(eps=EPS, min_samples=1, metric="cosine").fit(x).labels_
        a = b = None
    else:
        a, b = eps_edges(x, EPS, "exact" if method == "exact" else "clustered", nlist, nprobe)
        labels = components(n, a, b)
    seconds = time.perf_counter() - started
    result: dict[str, object] = {"method": method, "n": n, "seconds": round(seconds, 1),
                                 "groups": len(np.unique(labels)),
                                 "rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    canon = np.unique(labels, return_inverse=True)[1]  # partition as first-seen labels, comparable across methods
    first = np.full(canon.max() + 1, n)
    np.minimum.at(first, canon, np.arange(n))
    result["partition_hash"] = int(np.bitwise_xor.reduce(first[canon] * 2654435761 + np.arange(n)) % 2**61)
    if a is not None and b is not None:
        result["pairs"] = len(a)
        np.savez(edges_file, key=a * n + b, sim=np.einsum("ij,ij->i", x[a], x[b]))
    return result


def sample_rows(n: int, k: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng([seed, n]).choice(n, min(k, n), replace=False))


def run_reference(n: int, k: int, seed: int, out: Path) -> dict[str, object]:
    """Every exact pair (as ``a * n + b``, a < b) touching one of ``k`` sampled rows: K x n BLAS tiles."""
    x, _ = vectors(n)
    started = time.perf_counter()
    rows = sample_rows(n, k, seed)
    threshold = similarity_threshold(EPS)
    tiles = Tiles()
    packed: list[np.ndarray] = []
    for s in range(0, len(rows), TILE):
        q = rows[s:s + TILE]
        xq = x[q]
        for j in range(0, n, TILE):
            qi, cj = tiles.pairs_above(xq, x[j:j + TILE], threshold)
            a, b = q[qi], cj + j
            keep = a != b
            packed.append(np.minimum(a[keep], b[keep]) * n + np.maximum(a[keep], b[keep]))
    keys = np.unique(np.concatenate(packed))
    np.savez(out, rows=rows, key=keys)
    return {"seconds": round(time.perf_counter() - started, 1), "rows": len(rows), "pairs": len(keys)}


def wilson(found: int, total: int, z: float = 1.96) -> tuple[float, float]:
    if total == 0:
        return 0.0, 1.0
    p = found / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def sampled_recall(n: int, edges_file: Path, reference: Path) -> dict[str, object]:
    """A method's share of the exact pairs touching the sampled rows, and its pairs there that are not exact."""
    ref = np.load(reference)
    edges = np.load(edges_file)
    sampled = np.zeros(n, dtype=bool)
    sampled[ref["rows"]] = True
    key, sim = edges["key"], edges["sim"]
    touching = sampled[key // n] | sampled[key % n]
    exact = np.isin(key[touching], ref["key"])
    found, total = int(exact.sum()), len(ref["key"])
    low, high = wilson(found, total)
    extra_sim = sim[touching][~exact]
    far = int((extra_sim < 1 - EPS - 1e-5).sum())  # further from eps than float rounding: a real false pair
    return {"recall": found / max(total, 1), "low": low, "high": high, "found": found, "total": total,
            "extra": len(extra_sim), "extra_far": far}


def threads() -> str:
    return os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "all"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--methods", default="exact,clustered,dbscan")
    ap.add_argument("--dbscan-cap", type=int, default=300, help="seconds before DBSCAN is stopped")
    ap.add_argument("--nlist", type=int, default=None)
    ap.add_argument("--nprobe", type=int, default=None)
    ap.add_argument("--recall-sample", type=int, default=20000,
                    help="rows whose exact neighbourhoods estimate recall vs the exact graph (0: no recall)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the recall sample")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--reference", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference:
        print(json.dumps(run_reference(int(args.reference), args.recall_sample, args.seed, Path(args.out))))
        return
    if args.one:
        method, n = args.one.split(":")
        from datamill.steps.dedup.semantic import DedupSemanticParams

        nprobe = args.nprobe or DedupSemanticParams().nprobe
        print(json.dumps(run_one(method, int(n), args.nlist, nprobe, Path(args.out))))
        return
    print("| vectors | method | threads | seconds | peak RSS GB | groups | pairs | recall vs exact graph "
          "(sampled, 95% CI) | not exact | recall vs full exact graph |")
    print("|---:|---|---:|---:|---:|---:|---:|---|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-semantic-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            reference = Path(tmp) / f"reference-{n}.npz"
            methods = args.methods.split(",")
            if args.recall_sample and set(methods) - {"dbscan"}:
                cmd = [sys.executable, __file__, "--reference", str(n), "--recall-sample", str(args.recall_sample),
                       "--seed", str(args.seed), "--out", str(reference)]
                r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
                print(f"| {n:,} | recall reference: exact neighbourhoods of {r['rows']:,} sampled rows | {threads()} | "
                      f"{r['seconds']} | | | {r['pairs']:,} | | | |", flush=True)
            hashes: dict[str, int] = {}
            for method in methods:
                edges_file = Path(tmp) / f"{method}-{n}.npz"
                cmd = [sys.executable, __file__, "--one", f"{method}:{n}", "--out", str(edges_file)]
                cmd += ["--nlist", str(args.nlist)] if args.nlist else []
                cmd += ["--nprobe", str(args.nprobe)] if args.nprobe else []
                try:
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                         timeout=args.dbscan_cap if method == "dbscan" else None)
                except subprocess.TimeoutExpired:
                    print(f"| {n:,} | dbscan | {threads()} | > {args.dbscan_cap} (stopped) | | | | | | |")
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                hashes[method] = int(r["partition_hash"])
                est = full = not_exact = ""
                pairs = f"{r['pairs']:,}" if "pairs" in r else ""
                if "pairs" in r and reference.exists():
                    s = sampled_recall(n, edges_file, reference)
                    est = f"{s['recall']:.4f} [{s['low']:.4f}, {s['high']:.4f}] ({s['found']:,} of {s['total']:,})"
                    not_exact = f"{s['extra']}" + (f" ({s['extra_far']} beyond float ties)" if s["extra"] else "")
                exact_file = Path(tmp) / f"exact-{n}.npz"
                if "pairs" in r and exact_file.exists():
                    truth = np.load(exact_file)["key"]
                    hit = int(np.isin(np.load(edges_file)["key"], truth).sum())
                    full = f"{hit / max(len(truth), 1):.4f} ({hit:,} of {len(truth):,})"
                print(f"| {n:,} | {method} | {threads()} | {r['seconds']} | {r['rss_gb']} | {r['groups']:,} | "
                      f"{pairs} | {est} | {not_exact} | {full} |", flush=True)
            if "dbscan" in hashes and "exact" in hashes:
                same = "identical" if hashes["dbscan"] == hashes["exact"] else "DIFFERENT"
                print(f"| {n:,} | exact vs DBSCAN groups | | {same} | | | | | | |", flush=True)


if __name__ == "__main__":
    main()
