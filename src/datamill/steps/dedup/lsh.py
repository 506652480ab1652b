"""LSH banding over MinHash signature matrices, and the band layout for a Jaccard threshold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np

_MIX = np.uint64(0x9E3779B97F4A7C15)
#: pairs compared per chunk: small enough that the gathered rows stay in cache (1 << 20 was 8x slower)
EDGE_CHUNK = 1 << 14


@cache
def band_layout(threshold: float, num_perm: int, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows per band) minimizing the weighted false-positive plus false-negative probability mass.

    A pair with Jaccard ``s`` becomes a candidate with probability ``1 - (1 - s^r)^b``; we integrate the
    part of that S-curve below the threshold (false positives) and the missing part above it (false
    negatives) and take the layout with the smallest weighted sum (datasketch weighs both 0.5). When
    candidates are verified afterwards, false positives only cost time, so callers weigh misses more.
    """
    grid_lo = np.linspace(0.0, threshold, 200)
    grid_hi = np.linspace(threshold, 1.0, 200)
    best = (np.inf, 1, num_perm)
    for b in range(1, num_perm + 1):
        r = num_perm // b
        fp = np.trapezoid(1 - (1 - grid_lo**r) ** b, grid_lo)
        fn = np.trapezoid((1 - grid_hi**r) ** b, grid_hi)
        cost = (1 - fn_weight) * fp + fn_weight * fn
        if cost < best[0]:
            best = (float(cost), b, r)
    return best[1], best[2]


def band_keys(sigs: np.ndarray, band: int, rows: int) -> np.ndarray:
    """A 64-bit key per record for the columns of one band (equal columns -> equal key)."""
    h = np.zeros(len(sigs), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(band * rows, (band + 1) * rows):
            h = (h ^ sigs[:, j].astype(np.uint64)) * _MIX
            h ^= h >> np.uint64(29)
    return h


def band_key_matrix(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Every band's keys: an (n, bands) uint64 matrix (workers compute it per shard, in parallel)."""
    out = np.empty((len(sigs), bands), dtype=np.uint64)
    for band in range(bands):
        out[:, band] = band_keys(sigs, band, rows)
    return out


def _bucket_order(column: np.ndarray) -> np.ndarray:
    """Indices that sort ``column`` (uint64 keys) with equal keys in index order.

    Fast path: the key's high bits and the index packed into one uint64 and sorted by value (~5x faster
    than a stable argsort). Exact: if two different keys share the kept high bits (rare: ~3% of bands
    at a million records), the band falls back to the stable argsort.
    """
    n = len(column)
    bits = max(1, int(n - 1).bit_length())
    if bits > 32:  # pragma: no cover - billions of records in one reduce
        return np.argsort(column, kind="stable")
    shift = np.uint64(bits)
    packed = ((column >> shift) << shift) | np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << bits) - 1)).astype(np.int64)
    ordered = column[order]
    same_prefix = (packed[1:] >> shift) == (packed[:-1] >> shift)
    if np.any(same_prefix & (ordered[1:] != ordered[:-1])):
        return np.argsort(column, kind="stable")
    return order


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of an int64 array by sorting (numpy 2's hash-based unique is ~10-70x slower on
    millions of edge codes)."""
    values = np.sort(values)
    if len(values) == 0:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _band_edges(keys: np.ndarray, positions: np.ndarray, band: int) -> np.ndarray:
    """One band's candidate pairs as codes ``a * n + b`` (a < b): each bucket member with the bucket's first."""
    n = len(keys)
    column = keys[positions, band] if len(positions) < n else np.ascontiguousarray(keys[:, band])
    order = _bucket_order(column)
    k = column[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = k[1:] != k[:-1]
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(k)), 0))
    member = ~first
    a = positions[order[run_start[member]]]
    b = positions[order[member]]
    return np.minimum(a, b) * n + np.maximum(a, b)


def candidate_edges(keys: np.ndarray, valid: np.ndarray, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), a < b, that share a band bucket (equal key in a column of ``keys``, records where
    ``valid``): each bucket member is joined to the bucket's first. Bands run on ``threads`` threads
    (the caller passes the run's parallelism, capped at 4; numpy's sorts and gathers release the GIL; the
    reduce runs while the workers are idle); results do not depend on it."""
    positions = np.flatnonzero(valid)
    n = len(keys)
    bands = keys.shape[1] if keys.ndim == 2 else 0
    if bands == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if threads > 1 and n >= 100_000:
        with ThreadPoolExecutor(threads) as pool:
            edges = list(pool.map(lambda band: _band_edges(keys, positions, band), range(bands)))
    else:
        edges = [_band_edges(keys, positions, band) for band in range(bands)]
    packed = sorted_unique(np.concatenate(edges).astype(np.int64))
    return packed // n, packed % n


def jaccard(sigs: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of rows ``a[i]`` and ``b[i]``: the share of equal MinHash values."""
    out = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), EDGE_CHUNK):
        sl = slice(start, start + EDGE_CHUNK)
        out[sl] = np.count_nonzero(sigs[a[sl]] == sigs[b[sl]], axis=1) / sigs.shape[1]  # 7x .mean()
    return out
