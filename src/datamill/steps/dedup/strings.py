"""A compact column of strings for dedup reduces: record ids and previews of millions of records.

A Python list of a million short strings costs ~60 bytes a string in object headers; here each shard's
strings are one UTF-8 blob plus int32 end offsets (the string's length + 4 bytes). Shards can be added
from lists (reduce side) or already encoded (worker side, :func:`encode`), and strings are looked up in
bulk by global position.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def encode(strings: Sequence[str]) -> tuple[bytes, np.ndarray]:
    """``strings`` as one UTF-8 blob and the end offset of each (int32, or int64 past 2 GiB)."""
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    ends = np.cumsum(lengths)
    return b"".join(encoded), ends.astype(np.int32) if len(ends) == 0 or ends[-1] < 2**31 else ends


def categories(strings: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct strings in first-seen order, and each string's index among them (int32)."""
    names = list(dict.fromkeys(strings))
    index = {name: i for i, name in enumerate(names)}
    return names, np.fromiter((index[s] for s in strings), dtype=np.int32, count=len(strings))


class StringColumn:
    """Strings of several shards, addressed by global position (shards in the order they were added)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.blobs: list[bytes] = []
        self.ends: list[np.ndarray] = []
        self._starts: list[int] = [0]
        self.offsets = np.zeros(1, dtype=np.int64)  # start position of each shard, then the total

    def add(self, name: str, strings: Sequence[str]) -> None:
        self.add_encoded(name, *encode(strings))

    def add_encoded(self, name: str, blob: bytes, ends: np.ndarray) -> None:
        self.names.append(name)
        self.blobs.append(blob)
        self.ends.append(ends)
        self._starts.append(self._starts[-1] + len(ends))
        self.offsets = np.asarray(self._starts, dtype=np.int64)

    def __len__(self) -> int:
        return self._starts[-1]

    def get_many(self, positions: np.ndarray | Sequence[int]) -> list[str]:
        """The strings at these global positions, in the order given."""
        pos = np.asarray(positions, dtype=np.int64)
        out: list[str] = [""] * len(pos)
        if not len(pos):
            return out
        order = np.argsort(pos, kind="stable")
        sorted_pos = pos[order]
        bounds = np.searchsorted(sorted_pos, self.offsets)
        for s in range(len(self.names)):
            lo, hi = int(bounds[s]), int(bounds[s + 1])
            if lo == hi:
                continue
            local = sorted_pos[lo:hi] - self._starts[s]
            ends = self.ends[s]
            stops = ends[local].tolist()
            starts = np.where(local > 0, ends[np.maximum(local - 1, 0)], 0).tolist()
            blob = self.blobs[s]
            for k, a, b in zip(order[lo:hi].tolist(), starts, stops, strict=True):
                out[k] = blob[a:b].decode("utf-8", "surrogatepass")
        return out

    def get(self, position: int) -> str:
        return self.get_many([position])[0]
