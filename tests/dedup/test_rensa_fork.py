"""A process that signed a big MinHash batch can still fork workers that sign (rayon's pool never starts)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from datamill.steps.dedup.minhash import RENSA_SERIAL_ROWS, digest_rows

rensa = pytest.importorskip("rensa")


def test_chunked_digests_equal_one_call() -> None:
    rows = 3 * RENSA_SERIAL_ROWS + 7
    offsets = np.concatenate(([0], np.cumsum(np.arange(1, rows + 1) % 9 + 1))).astype(np.uint64)
    hashes = np.random.default_rng(1).integers(0, 2**63, int(offsets[-1]), dtype=np.uint64)
    whole = rensa.RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, 64, 3).to_rows()
    assert digest_rows(rensa, hashes, offsets, 64, 3) == whole


def test_a_forked_worker_signs_after_the_parent_signed_a_big_batch() -> None:
    code = textwrap.dedent("""
        import multiprocessing
        from datamill.steps.dedup.minhash import DedupMinHash, DedupMinHashParams

        def sign(n):
            step = DedupMinHash(DedupMinHashParams())
            step.setup()
            records = [{"id": str(i), "messages": [{"role": "user", "content": f"text number {i} " * 5},
                                                   {"role": "assistant", "content": "a"}]} for i in range(n)]
            return len(step.signature_batch(records))

        if __name__ == "__main__":
            assert sign(1000) == 1000  # a batch far past rensa's parallel threshold, in the parent
            with multiprocessing.get_context("fork").Pool(1) as pool:
                print(pool.apply_async(sign, (1000,)).get(timeout=60))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1000"
