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
#: k-means of the clustered mode: trained on this many sampled vectors per cell, for this many rounds
#: (faiss defaults 256 and 25 make training dominate at 1M x 384 on 2 cores; cells only need to be
#: roughly right because each record searches ``nprobe`` of them)
TRAIN_PER_CELL = 32
KMEANS_ITER = 10
Mode = Literal["exact", "clustered"]


def eps_edges(vectors: np.ndarray, eps: float, mode: Mode = "exact", nlist: int | None = None,
              nprobe: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), a < b, of rows with cosine similarity >= 1 - eps (rows must be L2-normalized)."""
    faiss: Any = require("faiss", "embeddings", "semantic dedup")
    n, d = vectors.shape
    if n < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    cells = nlist or default_nlist(n)
    if mode == "clustered" and n >= 4 * cells:
        return clustered_edges(x, eps, cells, nprobe, seed)
    index = faiss.IndexFlatIP(d)
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


def clustered_edges(x: np.ndarray, eps: float, cells: int, nprobe: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cluster first, then the exact graph inside each cell (SemDeDup), with ``nprobe`` cells per record.

    Spherical k-means (faiss, trained on a sample) gives ``cells`` centroids; every record is a member of
    its ``nprobe`` nearest cells and a query in its nearest one; each cell's queries x members block is
    one BLAS matrix product, thresholded at ``1 - eps``. A pair is found when one record's nearest cell
    is among the other's ``nprobe`` nearest: ``nprobe=1`` is plain "cluster, then dedup inside each
    cluster". Pairs are never invented, only missed across cell borders.
    """
    faiss: Any = require("faiss", "embeddings", "semantic dedup")
    n, d = x.shape
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, min(n, TRAIN_PER_CELL * cells), replace=False))
    kmeans = faiss.Kmeans(d, cells, niter=KMEANS_ITER, seed=seed, spherical=True,
                          max_points_per_centroid=TRAIN_PER_CELL, min_points_per_centroid=1)
    kmeans.train(x[sample])
    centroids = faiss.IndexFlatIP(d)
    centroids.add(kmeans.centroids)
    probe = min(nprobe, cells)
    near = np.concatenate([centroids.search(x[s:s + 65536], probe)[1] for s in range(0, n, 65536)])
    member_cell = near.ravel()
    member_vec = np.repeat(np.arange(n, dtype=np.int64), probe)
    order = np.argsort(member_cell, kind="stable")
    member_vec, member_bounds = member_vec[order], np.searchsorted(member_cell[order], np.arange(cells + 1))
    query_order = np.argsort(near[:, 0], kind="stable")
    query_bounds = np.searchsorted(near[query_order, 0], np.arange(cells + 1))
    del near, member_cell, order
    threshold = np.float32(1.0 - eps - 1e-6)
    packed: list[np.ndarray] = []
    for c in range(cells):
        queries = query_order[query_bounds[c]:query_bounds[c + 1]]
        members = member_vec[member_bounds[c]:member_bounds[c + 1]]
        if len(queries) == 0 or len(members) < 2:
            continue
        xm = x[members]
        for s in range(0, len(queries), 2048):
            q = queries[s:s + 2048]
            qi, mi = np.nonzero(x[q] @ xm.T > threshold)
            a, b = q[qi], members[mi]
            keep = a != b
            a, b = a[keep], b[keep]
            packed.append(np.minimum(a, b) * n + np.maximum(a, b))
    if not packed:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    edges = np.unique(np.concatenate(packed))
    return edges // n, edges % n


def default_nlist(n: int) -> int:
    """k-means cells of the clustered mode: 2*sqrt(n) (2,000 at 1M) balances the assignment product
    (n x cells) against the in-cell products (n x nprobe * n / cells)."""
    return max(1, int(2 * np.sqrt(n)))


def cosine(vectors: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of rows ``a[i]`` and ``b[i]`` (normalized rows)."""
    return np.einsum("ij,ij->i", vectors[a], vectors[b]) if len(a) else np.zeros(0, dtype=np.float32)
