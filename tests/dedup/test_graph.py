"""The exact eps-graph (tiled BLAS, no faiss) against a float64 brute force, and how ties at eps go."""

from __future__ import annotations

import numpy as np
import pytest

from datamill.steps.dedup.graph import TILE, eps_edges, exact_edges

EPS = 0.1


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def at_cosine(rng: np.random.Generator, base: np.ndarray, cos: np.ndarray) -> np.ndarray:
    """A vector at (about: float32 rounding) cosine ``cos[i]`` to each row ``base[i]``."""
    noise = rng.normal(size=base.shape)
    noise -= (noise * base).sum(1, keepdims=True) * base
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return unit(cos[:, None] * base + np.sqrt(1 - cos**2)[:, None] * noise)


def mixed_vectors(seed: int = 7, d: int = 48) -> np.ndarray:
    """~3,100 rows: random rows, clusters of near copies spread around 1 - eps, pairs planted within
    1e-5 of 1 - eps (the float-rounding band), and exact duplicates."""
    rng = np.random.default_rng(seed)
    rand = unit(rng.normal(size=(1200, d)))
    centers = unit(rng.normal(size=(300, d))).astype(np.float64)
    copies = [at_cosine(rng, centers, rng.uniform(0.88, 0.99, len(centers))) for _ in range(3)]
    band = unit(rng.normal(size=(400, d))).astype(np.float64)
    offsets = rng.choice([-1e-5, -3e-6, -1e-6, -3e-7, 0.0, 3e-7, 1e-6, 1e-5], len(band))
    near = at_cosine(rng, band, 1 - EPS + offsets)
    x = np.concatenate([rand, centers.astype(np.float32), *copies, band.astype(np.float32), near, rand[:50]])
    return x[rng.permutation(len(x))]


@pytest.mark.parametrize("tile", [TILE, 700])  # one tile; many tiles with a ragged last one
def test_exact_edges_equal_float64_brute_force(tile: int) -> None:
    x = mixed_vectors()
    n = len(x)
    a, b = exact_edges(x, EPS, tile=tile)
    assert (a < b).all()
    assert np.array_equal(np.lexsort((b, a)), np.arange(len(a)))  # sorted by a, then b
    found = np.zeros((n, n), dtype=bool)
    found[a, b] = True
    x64 = x.astype(np.float64)
    sims = x64 @ x64.T
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    must = upper & (sims >= 1 - EPS)  # DBSCAN's distance <= eps, computed in float64
    could = upper & (sims > 1 - EPS - 2e-6)  # the 1e-6 slack plus float32 rounding of the dot product
    assert len(a) == found.sum()  # no pair twice
    assert not (must & ~found).any(), "a pair with cosine >= 1 - eps was missed"
    assert not (found & ~could).any(), "a pair clearly below 1 - eps was linked"
    far = upper & (np.abs(sims - (1 - EPS)) > 1e-5)
    assert np.array_equal(found[far], must[far])  # away from the threshold: exactly the float64 graph
    assert must.sum() > 1000 and 20 < (could & ~must).sum() < 200  # real edges, and the band is exercised
    assert (found & could & ~must).any()  # ties within rounding below eps are linked (the documented side)


def test_exact_mode_is_the_default_and_needs_no_faiss(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` now fails
    x = mixed_vectors(seed=3)[:500]
    a, b = eps_edges(x, EPS)
    a2, b2 = exact_edges(x, EPS, tile=64)
    assert np.array_equal(a, a2) and np.array_equal(b, b2)
    assert len(eps_edges(x[:1], EPS)[0]) == 0
