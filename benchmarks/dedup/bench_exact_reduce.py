"""The memory and time per record of ``dedup_exact``'s reduce, the part of a run that stays in the driver.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup/bench_exact_reduce.py --records 1000000

Synthetic signatures as the workers pack them (hashes drawn from 0.7 n values: ~47% duplicates, ids shaped like a
read's ``data:part-3:124999``, one source, ``keep: first``), 50,000 records a shard, fed to the reduce
one shard at a time as the driver loads them. Memory: the peak of the allocations traced by
``tracemalloc`` (numpy arrays included) while the shards are loaded and reduced, per record. Time: the
reduce alone, the shards already in memory (loading the signature files and writing the plans come on
top). Used for the extrapolation in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import numpy as np

from datamill.steps.base import ShardSignatures
from datamill.steps.dedup_exact import DedupExact, DedupExactParams

SHARD = 50_000
FILES = 8


def hashes(n: int) -> list[int]:
    """``n`` hashes drawn from ``0.7 n`` values (made before the memory is traced: they stand for the workers')."""
    rng = np.random.default_rng(0)
    return (rng.integers(0, int(n * 0.7), n).astype(np.uint64) * np.uint64(2654435761) + np.uint64(1)).tolist()


def shards(step: DedupExact, keys: list[int], stats: dict[str, int]) -> Iterator[ShardSignatures[Any]]:
    n = len(keys)
    per_file = max(1, n // FILES)
    for start in range(0, n, SHARD):
        packed = step.pack([(keys[i], f"data:part-{i // per_file}:{i % per_file}", 0.0, "data")
                            for i in range(start, min(n, start + SHARD))])
        stats["id_bytes"] += len(packed["ids"][0])
        yield ShardSignatures(f"{start:08d}", packed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    n = ap.parse_args().records
    step = DedupExact(DedupExactParams())
    stats = {"id_bytes": 0}
    keys = hashes(n)
    tracemalloc.start()
    duplicates = sum(len(plan) for _, plan in step.reduce(shards(step, keys, stats)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    loaded = list(shards(step, keys, {"id_bytes": 0}))
    started = time.perf_counter()
    for _ in step.reduce(iter(loaded)):
        pass
    seconds = time.perf_counter() - started
    print(f"{n:,} records ({duplicates:,} duplicates, ids {stats['id_bytes'] / n:.1f} bytes): peak "
          f"{peak / 2**20:.1f} MiB = {peak / n:.1f} bytes per record; reduce {seconds:.2f} s")


if __name__ == "__main__":
    main()
