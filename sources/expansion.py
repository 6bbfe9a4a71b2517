"""Limits on what a small file may expand to (zip bombs, Parquet of billions of cells), checked before parsing.

A 243 KB workbook can hold 100 MB of shared strings, and a Parquet file of a few KB a billion repeated
cells: parsing either costs minutes of CPU before any rule could refuse it. These checks read only the
zip's directory, a streamed count of cell tags, or the Parquet footer, so they take well under a second.
"""

from __future__ import annotations

import zipfile
import zlib
from typing import BinaryIO

import pyarrow.parquet as pq

from errors import UnusableInput

MAX_XLSX_UNPACKED = 512 << 20  # all members together, as the zip's directory states them
MAX_SHARED_STRINGS = 64 << 20  # openpyxl holds every shared string in memory before the first row
MAX_SHARED_STRING_COUNT = 2_000_000  # and spends some 30 microseconds on each, however short
MAX_RATIO = 100  # unpacked / packed of one member (or Parquet column chunk) over SMALL bytes; a real sheet packs ~10:1
SMALL = 1 << 20
MAX_XLSX_CELLS = 5_000_000  # some 200,000 rows; openpyxl reads a few hundred thousand cells a second
MAX_PARQUET_CELLS_PER_BYTE = 16  # rows x columns per byte of file; real extracts hold under 2
MIN_PARQUET_CELLS = 1_000_000  # a small file may hold this many whatever its size
CHUNK = 1 << 20
CELL_TAGS = (b"<c ", b"<c>", b":c ", b":c>")
STRING_TAGS = (b"<si>", b"<si ", b":si>", b":si ")
AS_CSV = "export the extract as CSV instead"


def check_xlsx(f: BinaryIO, name: str) -> None:
    """Refuse a workbook whose members unpack past the limits, or that holds too many cells or shared strings."""
    try:
        with zipfile.ZipFile(f) as z:
            members = z.infolist()
            unpacked = sum(i.file_size for i in members)
            if unpacked > MAX_XLSX_UNPACKED:
                raise UnusableInput(f"{name}: the XLSX unpacks to {unpacked >> 20} MB; {AS_CSV}")
            for i in members:
                if i.file_size > SMALL and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                    raise UnusableInput(
                        f"{name}: the XLSX unpacks to {i.file_size >> 20} MB from {i.compress_size >> 10} KB "
                        f"(over {MAX_RATIO} times its packed size, as a zip bomb does); {AS_CSV}"
                    )
                if i.filename.lower().endswith("sharedstrings.xml") and i.file_size > MAX_SHARED_STRINGS:
                    raise UnusableInput(
                        f"{name}: the XLSX unpacks to {i.file_size >> 20} MB of text (shared strings); {AS_CSV}"
                    )
            names = [(i, i.filename.lower()) for i in members]
            strings = sum(_count(z, i, STRING_TAGS) for i, n in names if n.endswith("sharedstrings.xml"))
            cells = sum(_count(z, i, CELL_TAGS) for i, n in names if n.startswith("xl/worksheets/"))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        raise UnusableInput(f"{name}: the XLSX file is damaged; export it again") from None
    if strings > MAX_SHARED_STRING_COUNT:
        raise UnusableInput(f"{name}: the XLSX holds over {MAX_SHARED_STRING_COUNT:,} distinct texts; {AS_CSV}")
    if cells > MAX_XLSX_CELLS:
        raise UnusableInput(f"{name}: the XLSX holds over {MAX_XLSX_CELLS:,} cells; {AS_CSV}")


def _count(z: zipfile.ZipFile, member: zipfile.ZipInfo, tags: tuple[bytes, ...]) -> int:
    """Elements of one XML member (`<c ...>`, or `<si>`, with or without a namespace prefix), counted as it is
    inflated; stops once past every limit."""
    count, tail = 0, b""
    with z.open(member) as f:
        while chunk := f.read(CHUNK):
            data = tail + chunk  # a tag split across two chunks is whole here; one inside `tail` was counted before
            count += sum(data.count(t) - tail.count(t) for t in tags)
            tail = data[-3:]
            if count > MAX_XLSX_CELLS:
                break
    return count


def check_parquet(parquet: pq.ParquetFile, size: int, name: str) -> None:
    """Refuse a Parquet file whose footer promises far more cells than its size can honestly hold, or a
    column chunk that unpacks to over MAX_RATIO times its stored size."""
    meta = parquet.metadata
    cells = meta.num_rows * max(meta.num_columns, 1)
    if cells > max(MIN_PARQUET_CELLS, MAX_PARQUET_CELLS_PER_BYTE * size):
        raise UnusableInput(
            f"{name}: the Parquet file declares {meta.num_rows:,} rows in {size >> 10} KB "
            f"(over {MAX_PARQUET_CELLS_PER_BYTE} cells a byte, as a decompression bomb does); {AS_CSV}"
        )
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            unpacked, packed = chunk.total_uncompressed_size, chunk.total_compressed_size
            if unpacked > SMALL and unpacked > MAX_RATIO * max(packed, 1):
                raise UnusableInput(
                    f"{name}: a column of the Parquet file unpacks to {unpacked >> 20} MB from {packed >> 10} KB "
                    f"(over {MAX_RATIO} times, as a decompression bomb does); {AS_CSV}"
                )
