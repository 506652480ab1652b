"""Every request and raw response, in SQLite (``WORKDIR/cache/llm.sqlite``), keyed by the request hash.

A row is committed as soon as its answer arrives (WAL mode), so a killed run loses only the calls in
flight. Steps parse the stored raw text, so a parser fix re-parses without new calls.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from datamill.llm.request import ChatRequest, ChatResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    response_text TEXT NOT NULL,
    raw TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    source TEXT NOT NULL,
    created REAL NOT NULL,
    seconds REAL
)
"""
_COLUMNS = "key, model, request, response_text, raw, input_tokens, output_tokens, source, created, seconds"


class LLMCache:
    """Thread-safe get/put of answers. ``path=None`` keeps the cache in memory (unit tests)."""

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False,
                                   isolation_level=None, timeout=60)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(calls)")}
        if "seconds" not in columns:  # a cache written before call durations were kept
            self._db.execute("ALTER TABLE calls ADD COLUMN seconds REAL")

    def get(self, key: str) -> ChatResult | None:
        with self._lock:
            row = self._db.execute(
                "SELECT response_text, input_tokens, output_tokens, raw FROM calls WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return ChatResult(key=key, text=row[0], input_tokens=row[1], output_tokens=row[2], cached=True,
                          raw=orjson.loads(row[3]))

    def claim(self, key: str) -> ChatResult | bool:
        """The cached answer, or True: the caller pays for the call (one process: nobody else could).
        :class:`~datamill.llm.shared.SharedCache` answers False while another worker pays for it."""
        return self.get(key) or True

    def release(self, key: str) -> None:
        """A claimed call ended without an answer to store (in one process there is nothing to release)."""

    def put(self, request: ChatRequest, result: ChatResult, source: str = "call") -> None:
        """Store one answer; ``source`` says where it came from (``call`` or a batch output file)."""
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO calls ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.key, request.model, orjson.dumps(request.to_json()).decode(), result.text or "",
                 orjson.dumps(result.raw).decode(), result.input_tokens, result.output_tokens, source, time.time(),
                 result.seconds),
            )

    def put_raw(self, key: str, model: str, request: dict[str, Any], result: ChatResult, source: str) -> None:
        """Store an answer whose request is known only as JSON (batch output files echo it)."""
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO calls ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, model, orjson.dumps(request).decode(), result.text or "", orjson.dumps(result.raw).decode(),
                 result.input_tokens, result.output_tokens, source, time.time(), None),
            )

    def latency(self, model: str) -> tuple[float, int] | None:
        """(median seconds of a live call to ``model``, how many calls it is measured on), or None."""
        with self._lock:
            rows = self._db.execute("SELECT seconds FROM calls WHERE model = ? AND seconds IS NOT NULL "
                                    "ORDER BY seconds", (model,)).fetchall()
        if not rows:
            return None
        return float(rows[len(rows) // 2][0]), len(rows)

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
