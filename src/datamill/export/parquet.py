"""Canonical records as Parquet.

Scalar fields get typed columns; nested fields (``messages``, ``chosen``, ``rejected``, ``tools``,
``scores``, ``meta``) are stored as JSON text, because their inner types vary from row to row
(``meta`` holds each source's original columns) and one Parquet schema cannot hold them all. The
file's schema metadata lists those columns under ``datamill.json_columns`` so readers can decode them.
"""

from __future__ import annotations

from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from datamill.export.base import Exporter, RowWriter
from datamill.records import Record
from datamill.steps.base import NoParams

SCALAR_COLUMNS = ("id", "source", "source_id", "kind", "text", "category", "lang", "split")
JSON_COLUMNS = ("messages", "chosen", "rejected", "tools", "scores", "meta")

SCHEMA = pa.schema(
    [(c, pa.string()) for c in SCALAR_COLUMNS]
    + [("tie", pa.bool_()), ("tags", pa.list_(pa.string()))]
    + [(c, pa.string()) for c in JSON_COLUMNS],
    metadata={b"datamill.json_columns": ",".join(JSON_COLUMNS).encode()},
)


def _row(record: Record) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for c in SCALAR_COLUMNS:
        v = record.get(c)
        row[c] = None if v is None else str(v)
    row["tie"] = record.get("tie")
    tags = record.get("tags")
    row["tags"] = None if tags is None else [str(t) for t in tags]
    for c in JSON_COLUMNS:
        v = record.get(c)
        row[c] = None if v is None else orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()
    extra = {k: v for k, v in record.items() if k not in SCHEMA.names}
    if extra:  # unknown top-level fields survive inside meta rather than being lost
        meta = dict(record.get("meta") or {})
        meta.setdefault("_extra", {}).update(extra)
        row["meta"] = orjson.dumps(meta, option=orjson.OPT_NON_STR_KEYS).decode()
    return row


class ParquetRowWriter(RowWriter):
    joinable = "parquet"
    BATCH = 5000

    def __init__(self, fh: IO[bytes], batch: int = BATCH) -> None:
        super().__init__(fh)
        self._writer = pq.ParquetWriter(fh, SCHEMA, compression="zstd")
        self._rows: list[dict[str, Any]] = []
        self._batch = batch

    def write(self, row: Any) -> None:
        self._rows.append(row)
        if len(self._rows) >= self._batch:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=SCHEMA))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


class ParquetExporter(Exporter[NoParams]):
    """Canonical records as Parquet (typed scalar columns, nested fields as JSON text)."""

    name = "parquet"
    description = "canonical records as Parquet"
    extension = ".parquet"

    def convert(self, record: Record) -> Any:
        return _row(record)

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return ParquetRowWriter(fh)
