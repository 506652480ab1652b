"""Connected components of a duplicate graph given as edge arrays (vectorized union-find)."""

from __future__ import annotations

import numpy as np


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` nodes: the smallest node index in its component.

    Min-label propagation with pointer jumping over the edges ``a[i] -- b[i]``, all in numpy: each
    round moves every edge's smaller label to both ends and then shortcuts ``label = label[label]``
    until nothing changes (a few rounds for the star-shaped edge sets LSH and range search give).
    """
    labels = np.arange(n, dtype=np.int64)
    if len(a) == 0:
        return labels
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    while True:
        la, lb = labels[a], labels[b]
        low = np.minimum(la, lb)
        changed = la != lb
        if not changed.any():
            break
        np.minimum.at(labels, labels[a[changed]], low[changed])
        np.minimum.at(labels, labels[b[changed]], low[changed])
        np.minimum.at(labels, a[changed], low[changed])
        np.minimum.at(labels, b[changed], low[changed])
        while True:  # pointer jumping: every node points at its root
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
    return labels
