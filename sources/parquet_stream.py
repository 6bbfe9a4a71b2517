"""A Parquet extract streamed by row group batches, every column read as text."""

from __future__ import annotations

from collections.abc import Generator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from errors import UnusableInput
from sources.expansion import check_parquet
from sources.extract_stream import ExtractStream, normalise_header
from sources.source import Source


def open_parquet(src: Source, batch_rows: int) -> ExtractStream:
    """Read the footer and check every column can be text; the rows follow in batches."""
    try:
        parquet = pq.ParquetFile(src.arrow())
    except (pa.ArrowInvalid, OSError):
        raise UnusableInput(f"{src.name}: the Parquet file is damaged; export it again") from None
    try:
        check_parquet(parquet, src.size(), src.name)
    except UnusableInput:
        parquet.close()
        raise
    header = normalise_header(parquet.schema_arrow.names, src.name)
    for i, type_ in enumerate(parquet.schema_arrow.types, start=1):
        try:
            pc.cast(pa.array([], type_), pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            parquet.close()
            message = f"{src.name}: column {i} holds nested or binary values, not text; export it flat"
            raise UnusableInput(message) from None
    batches = _batches(src.name, parquet, header, batch_rows)
    return ExtractStream.start(src.name, header, batches, format="parquet", batch_rows=batch_rows)


def _batches(name: str, parquet: pq.ParquetFile, header: list[str], size: int) -> Generator[pa.RecordBatch]:
    try:
        for batch in parquet.iter_batches(batch_size=size, use_threads=False):
            columns = [pc.fill_null(pc.cast(c, pa.string()), "") for c in batch.columns]
            yield pa.RecordBatch.from_arrays(columns, names=header)
    except (pa.ArrowInvalid, OSError):
        raise UnusableInput(f"{name}: the Parquet file is damaged; export it again") from None
    finally:
        parquet.close()
