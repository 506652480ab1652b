"""Embeddings cached by content hash in the work directory (``cache/embeddings/*.sqlite``).

One SQLite file per model; the key is xxh3-128 of the text. A killed run loses at most the batch in
flight, and a later run (or another recipe using the same work directory) reuses every vector.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import xxhash


def text_key(text: str) -> bytes:
    return xxhash.xxh3_128_digest(text.encode("utf-8", "surrogatepass"))


class EmbeddingCache:
    """``get`` / ``put`` float32 vectors by text key; ``path=None`` keeps them in memory only."""

    def __init__(self, folder: Path | None, model_key: str) -> None:
        self._mem: dict[bytes, bytes] = {}
        self._db: sqlite3.Connection | None = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_key)[-100:]
            self._db = sqlite3.connect(folder / f"{slug}.sqlite")
            self._db.execute("CREATE TABLE IF NOT EXISTS vec (k BLOB PRIMARY KEY, v BLOB NOT NULL)")

    def get_many(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        if self._db is None:
            return {k: np.frombuffer(self._mem[k], dtype=np.float32) for k in keys if k in self._mem}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for k, v in self._db.execute(f"SELECT k, v FROM vec WHERE k IN ({marks})", chunk):
                found[bytes(k)] = np.frombuffer(v, dtype=np.float32)
        return found

    def put_many(self, keys: list[bytes], vectors: np.ndarray) -> None:
        rows = [(k, v.astype(np.float32).tobytes()) for k, v in zip(keys, vectors, strict=True)]
        if self._db is None:
            self._mem.update(rows)
            return
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vec (k, v) VALUES (?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
