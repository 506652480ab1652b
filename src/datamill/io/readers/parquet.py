"""Parquet through pyarrow, one record batch at a time (memory stays bounded by the batch size).

Options: ``columns`` (read only these), ``batch_size`` (rows per batch, default 8192). A file pyarrow
cannot open, or a batch it cannot decode, becomes one error row and ends the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from datamill.io.report import ReadReport
from datamill.io.rows import RawRow


def read_parquet(
    file: Any, display: str, options: Mapping[str, Any], report: ReadReport
) -> Iterator[RawRow]:
    """Rows of a Parquet file (``file`` must be seekable); locations ``display#index``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    index = 0
    try:
        parquet = pq.ParquetFile(file)
        batches = parquet.iter_batches(batch_size=int(options.get("batch_size", 8192)),
                                       columns=options.get("columns"))
        for batch in batches:
            for value in batch.to_pylist():
                report.rows += 1
                yield RawRow(value, f"{display}#{index}")
                index += 1
    except (OSError, ValueError, pa.ArrowException) as exc:
        report.errors += 1
        yield RawRow(None, f"{display}#{index}", error=f"cannot read Parquet: {exc}")
