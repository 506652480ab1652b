"""The duplicate graph of normalized vectors: edges where cosine distance <= eps, by tiled BLAS products.

Its connected components are exactly DBSCAN(metric='cosine', eps, min_samples=1)'s clusters (with
min_samples=1 every point is a core point, so a cluster is a component of the eps-neighbourhood graph),
without DBSCAN's O(n^2) distance work in Python-land.

* ``exact``: every pair, as the upper triangle of ``X @ X.T`` in tiles of ``TILE`` x ``TILE`` rows
  (numpy's BLAS, one reused output buffer): n^2 * d multiply-adds, each pair computed once.
* ``clustered``: k-means partitions first (faiss), then the exact product inside each cell for the
  records whose ``nprobe`` nearest cells include it. With ``nprobe=1`` it is SemDeDup's "cluster, then
  dedup within each cluster": pairs split across a partition border are missed, so groups can come out
  smaller (fewer records removed, never more). Larger ``nprobe`` recovers them at more cost.

The threshold: a pair is an edge when its float32 dot product is ``> 1 - eps - 1e-6``. The 1e-6 of
slack is larger than the float32 rounding of a dot product of unit vectors (measured at most ~6e-7
at d = 384, vs float64; not a proven bound), so every pair of cosine >= 1 - eps is an edge (DBSCAN's
``distance <= eps``), and a pair whose cosine is below 1 - eps by less than ~1.5e-6 may be one too:
ties within float rounding of eps count as duplicates, in both modes, with the same threshold.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from datamill.errors import require

#: rows per side of one tile of the exact product: a 4096 x 4096 float32 tile is 64 MB, large enough
#: that BLAS runs at full speed and the thresholding (one compare + flatnonzero) costs ~5% of it
TILE = 4096
#: k-means of the clustered mode: trained on this many sampled vectors per cell, for this many rounds
#: (faiss defaults 256 and 25 make training dominate at 1M x 384 on 2 cores; cells only need to be
#: roughly right because each record searches ``nprobe`` of them)
TRAIN_PER_CELL = 32
KMEANS_ITER = 10
Mode = Literal["exact", "clustered"]


def eps_edges(vectors: np.ndarray, eps: float, mode: Mode = "exact", nlist: int | None = None,
              nprobe: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), a < b, of rows with cosine similarity >= 1 - eps (rows must be L2-normalized),
    sorted by a then b."""
    n = len(vectors)
    if n < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    cells = nlist or default_nlist(n)
    if mode == "clustered" and n >= 4 * cells:
        return clustered_edges(x, eps, cells, nprobe, seed)
    return exact_edges(x, eps)


def similarity_threshold(eps: float) -> np.float32:
    """Edges are pairs with dot product strictly above this (see the module doc for the 1e-6)."""
    return np.float32(1.0 - eps - 1e-6)


class Tiles:
    """Reused buffers for thresholded products of up to ``tile`` x ``tile`` rows."""

    def __init__(self, tile: int = TILE) -> None:
        self.tile = tile
        self._sims = np.empty(0, dtype=np.float32)
        self._mask = np.empty(0, dtype=bool)

    def pairs_above(self, left: np.ndarray, right: np.ndarray, threshold: np.float32) -> tuple[np.ndarray, np.ndarray]:
        """Positions (i, j) with ``left[i] . right[j] > threshold``, row-major: one BLAS product."""
        size = len(left) * len(right)
        if len(self._sims) < size:
            self._sims = np.empty(size, dtype=np.float32)
            self._mask = np.empty(size, dtype=bool)
        sims = self._sims[:size].reshape(len(left), len(right))
        mask = self._mask[:size].reshape(len(left), len(right))
        np.matmul(left, right.T, out=sims)
        np.greater(sims, threshold, out=mask)
        flat = np.flatnonzero(mask)  # 10x faster than np.nonzero on the 2-D mask
        return flat // len(right), flat % len(right)


def exact_edges(x: np.ndarray, eps: float, tile: int = TILE) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of rows of ``x`` (float32, normalized) with cosine >= 1 - eps: for each block of
    ``tile`` rows, its product with itself (pairs a < b kept) and with every later block."""
    n = len(x)
    threshold = similarity_threshold(eps)
    tiles = Tiles(tile)
    a_parts: list[np.ndarray] = []
    b_parts: list[np.ndarray] = []
    for i in range(0, n, tile):
        for j in range(i, n, tile):
            ri, cj = tiles.pairs_above(x[i:i + tile], x[j:j + tile], threshold)
            if i == j:
                keep = ri < cj
                ri, cj = ri[keep], cj[keep]
            a_parts.append(ri + i)
            b_parts.append(cj + j)
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    order = np.lexsort((b, a))
    return a[order], b[order]


def clustered_edges(x: np.ndarray, eps: float, cells: int, nprobe: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cluster first, then the exact graph inside each cell (SemDeDup), with ``nprobe`` cells per record.

    Spherical k-means (faiss, trained on a sample) gives ``cells`` centroids; every record is a member of
    its ``nprobe`` nearest cells and a query in its nearest one; each cell's queries x members block is
    thresholded BLAS products (``Tiles``, as in the exact mode). A pair is found when one record's nearest cell
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
    threshold = similarity_threshold(eps)
    tiles = Tiles()
    packed: list[np.ndarray] = []
    for c in range(cells):
        queries = query_order[query_bounds[c]:query_bounds[c + 1]]
        members = member_vec[member_bounds[c]:member_bounds[c + 1]]
        if len(queries) == 0 or len(members) < 2:
            continue
        for s in range(0, len(queries), tiles.tile):
            q = queries[s:s + tiles.tile]
            xq = x[q]
            for t in range(0, len(members), tiles.tile):
                m = members[t:t + tiles.tile]
                qi, mi = tiles.pairs_above(xq, x[m], threshold)
                a, b = q[qi], m[mi]
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
