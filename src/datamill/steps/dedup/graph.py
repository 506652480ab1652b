"""The duplicate graph of normalized vectors: edges where cosine distance <= eps, by faiss range search.

Its connected components are exactly DBSCAN(metric='cosine', eps, min_samples=1)'s clusters (with
min_samples=1 every point is a core point, so a cluster is a component of the eps-neighbourhood graph),
without DBSCAN's O(n^2) distance work in Python-land.

* ``exact``: a flat inner-product index, range-searched in blocks (every pair within eps is found).
* ``clustered``: k-means partitions first (an IVF index with ``nlist`` cells), then range search in
  the ``nprobe`` nearest cells of each query. With ``nprobe=1`` it is SemDeDup's "cluster, then dedup
  within each cluster": pairs split across a partition border are missed, so groups can come out
  smaller (fewer records removed, never more). Larger ``nprobe`` recovers them at more cost.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from datamill.errors import require

BLOCK = 4096
Mode = Literal["exact", "clustered"]


def eps_edges(vectors: np.ndarray, eps: float, mode: Mode = "exact", nlist: int | None = None,
              nprobe: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), a < b, of rows with cosine similarity >= 1 - eps (rows must be L2-normalized)."""
    faiss: Any = require("faiss", "embeddings", "semantic dedup")
    n, d = vectors.shape
    if n < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if mode == "exact" or n < 4 * (nlist or 1):
        index = faiss.IndexFlatIP(d)
    else:
        cells = nlist or max(1, int(4 * np.sqrt(n)))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, cells, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(x)
        index.nprobe = nprobe
    index.add(x)
    radius = float(1.0 - eps) - 1e-6  # faiss keeps similarity > radius; DBSCAN keeps distance <= eps
    a_parts: list[np.ndarray] = []
    b_parts: list[np.ndarray] = []
    for start in range(0, n, BLOCK):
        lims, _, found = index.range_search(x[start:start + BLOCK], radius)
        counts = np.diff(lims).astype(np.int64)
        query = np.repeat(np.arange(start, start + len(counts), dtype=np.int64), counts)
        found = found.astype(np.int64)
        keep = found > query
        a_parts.append(query[keep])
        b_parts.append(found[keep])
    return np.concatenate(a_parts), np.concatenate(b_parts)


def cosine(vectors: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of rows ``a[i]`` and ``b[i]`` (normalized rows)."""
    return np.einsum("ij,ij->i", vectors[a], vectors[b]) if len(a) else np.zeros(0, dtype=np.float32)
