"""Read a provider's extract (CSV in any common encoding, XLSX, Parquet) by its content, as record batches of strings.

`open_extract` streams the rows in batches (memory bounded by a few batches, whatever the file's size);
`read_extract` gives the whole table, for small files and tests.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from errors import UnusableInput
from sources.csv_stream import open_csv
from sources.expansion import check_parquet
from sources.extract_stream import BATCH_ROWS, ROW, ExtractStream
from sources.parquet_stream import open_parquet
from sources.source import Readable, Source
from sources.xlsx_stream import open_xlsx

__all__ = [
    "ROW",
    "Extract",
    "ExtractStream",
    "open_extract",
    "read_extract",
    "open_prepared",
    "prepared_batches",
    "PREPARED_MARK",
    "PREPARED_PERIOD",
    "prepared_period",
]

SAMPLE_BYTES = 256 * 1024  # what the format, the encoding and the delimiter are judged from
PREPARED_MARK = b"rapporteur.prepared_with"  # Parquet metadata of an extract made by `rapporteur prepare`
PREPARED_PERIOD = b"rapporteur.prepared_for"  # the period it was prepared for (absent before this was recorded)


def open_extract(
    source: Readable,
    sheet: str | None = None,
    name: str | None = None,
    batch_rows: int = BATCH_ROWS,
    expected: Collection[str] | None = None,
) -> ExtractStream:
    """Open a file (a path, its bytes, or a binary file object) by its content, not its name.

    Raises UnusableInput with one line for what can be found up front (empty, not text, encoding,
    header, unbalanced quotes, an XLSX too large, no data rows...); `ExtractStream.batches()` raises
    the same for what only reading finds. `name` is how messages call the file (default: its file name).
    In a workbook, `sheet` names the sheet to read; without it the sheet whose first row names the `expected`
    columns is read (SheetChoice when none or several do).
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    src = Source(source, name)
    with src.open() as f:
        head = f.read(SAMPLE_BYTES)
    if not head.strip():
        raise UnusableInput(f"{src.name}: the file is empty; export the extract again")
    if head.startswith(b"PK\x03\x04"):
        return open_xlsx(src, sheet, batch_rows, expected)
    if head.startswith(b"PAR1"):
        return open_parquet(src, batch_rows)
    return open_csv(src, head, batch_rows)


@dataclass
class Extract:
    """A provider file as read: every cell a string ('' when blank), plus the data row number."""

    table: pa.Table
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.table.num_rows


def read_extract(source: Readable, sheet: str | None = None, name: str | None = None) -> Extract:
    """The whole extract as one table (the batches of `open_extract` put together); UnusableInput with one line."""
    with open_extract(source, sheet, name) as stream:
        table = pa.Table.from_batches(stream.batches(), stream.schema)
    return Extract(table, stream.format, stream.encoding, stream.delimiter, stream.notes)


def open_prepared(source: Readable, name: str | None = None) -> tuple[pq.ParquetFile, dict] | None:
    """A prepared extract (Parquet marked by `rapporteur prepare`), opened, and its mark; None for anything else.

    The rows are read in batches by `prepared_batches`, which closes the file.
    """
    src = Source(source, name)
    with src.open() as f:
        if f.read(4) != b"PAR1":
            return None
    try:
        parquet = pq.ParquetFile(src.arrow())
    except (pa.ArrowInvalid, OSError):
        return None
    try:
        mark = (parquet.schema_arrow.metadata or {}).get(PREPARED_MARK)
        if mark:
            check_parquet(parquet, src.size(), src.name)
            return parquet, json.loads(mark)
    except ValueError:
        pass
    except UnusableInput:
        parquet.close()
        raise
    parquet.close()
    return None


def prepared_period(parquet: pq.ParquetFile) -> str:
    """The period an opened prepared extract was made for; `all` when it does not say (made by an older version)."""
    return (parquet.schema_arrow.metadata or {}).get(PREPARED_PERIOD, b"all").decode("ascii", "replace")


def prepared_batches(parquet: pq.ParquetFile, name: str, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """The rows of an opened prepared extract, batch by batch (at least one, maybe empty); closes the file."""
    try:
        empty = True
        for batch in parquet.iter_batches(batch_size=batch_rows, use_threads=False):
            empty = False
            yield pa.Table.from_batches([batch])
        if empty:
            yield parquet.schema_arrow.empty_table()
    except (pa.ArrowInvalid, OSError):
        raise UnusableInput(f"{name}: the prepared extract is damaged; prepare it again") from None
    finally:
        parquet.close()
