"""One shard's MinHash signatures in columns: what a worker hands to the ``dedup_minhash`` reduce.

The per-record tuples of :meth:`DedupMinHash.signature_batch` are convenient to compute and to wrap
(``check_leakage`` adds the split), but a reduce over a million of them spends seconds walking tuples
and unpickling small objects. Packed per shard on the worker, the reduce gets a digest matrix, the LSH
band keys (computed in parallel on the workers), and ids/previews as UTF-8 blobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from datamill.steps.dedup.lsh import band_key_matrix
from datamill.steps.dedup.strings import categories, encode


@dataclass
class MinHashShard:
    digests: np.ndarray  # (n, num_perm) uint32; zeros where the text was empty
    valid: np.ndarray  # (n,) bool: the text had shingles (empty texts are never compared)
    chars: np.ndarray  # (n,) bool: character n-grams were used
    keys: np.ndarray  # (n, bands) uint64 LSH band keys
    ids: tuple[bytes, np.ndarray]  # encoded record ids
    source_names: list[str]  # the shard's distinct sources, in first-seen order
    source_codes: np.ndarray  # (n,) int32 index into source_names
    priority: np.ndarray  # (n,) float64 survivor priority (lower wins)
    previews: tuple[bytes, np.ndarray]  # encoded text prefixes
    numbers: np.ndarray  # (n,) uint64 hash of the numbers of the normalized text (minhash.numbers_key)

    @classmethod
    def from_signatures(cls, signatures: Sequence[tuple[Any, ...]], num_perm: int, bands: int,
                        rows: int) -> MinHashShard:
        """Pack ``(digest bytes | None, chars, id, source, priority, preview, numbers key)`` tuples."""
        n = len(signatures)
        empty = b"\x00" * (4 * num_perm)
        blob = b"".join(s[0] or empty for s in signatures)
        digests = np.frombuffer(blob, dtype=np.uint32).reshape(n, num_perm) if n else \
            np.zeros((0, num_perm), dtype=np.uint32)
        valid = np.fromiter((s[0] is not None for s in signatures), dtype=bool, count=n)
        names, codes = categories([s[3] for s in signatures])
        return cls(
            digests=digests,
            valid=valid,
            chars=np.fromiter((bool(s[1]) for s in signatures), dtype=bool, count=n),
            keys=band_key_matrix(digests, bands, rows),
            ids=encode([s[2] for s in signatures]),
            source_names=names,
            source_codes=codes,
            priority=np.fromiter((s[4] for s in signatures), dtype=np.float64, count=n),
            previews=encode([s[5] for s in signatures]),
            numbers=np.fromiter((s[6] for s in signatures), dtype=np.uint64, count=n),
        )
