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

from sources.errors import UnusableInput

MAX_XLSX_UNPACKED = 512 << 20  # all members together, as the zip's directory states them
MAX_SHARED_STRINGS = 64 << 20  # openpyxl holds every shared string in memory before the first row
MAX_RATIO = 100  # unpacked / packed of one member (or Parquet column chunk) over SMALL bytes; a real sheet packs ~10:1
SMALL = 1 << 20
MAX_XLSX_CELLS = 10_000_000  # openpyxl reads some 100,000 cells a second: more belongs in a CSV
MAX_PARQUET_CELLS_PER_BYTE = 16  # rows x columns per byte of file; real extracts hold under 2
MIN_PARQUET_CELLS = 1_000_000  # a small file may hold this many whatever its size
CHUNK = 1 << 20
AS_CSV = "export the extract as CSV instead"


def check_xlsx(f: BinaryIO, name: str) -> None:
    """Refuse a workbook whose members unpack past the limits, or whose sheets hold too many cells."""
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
            cells = sum(_cells(z, i) for i in members if i.filename.lower().startswith("xl/worksheets/"))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        raise UnusableInput(f"{name}: the XLSX file is damaged; export it again") from None
    if cells > MAX_XLSX_CELLS:
        raise UnusableInput(f"{name}: the XLSX holds over {MAX_XLSX_CELLS:,} cells; {AS_CSV}")


def _cells(z: zipfile.ZipFile, member: zipfile.ZipInfo) -> int:
    """Cell elements (`<c ...>`, with or without a namespace prefix) of one sheet, counted as it is inflated."""
    count, tail = 0, b""
    with z.open(member) as f:
        while chunk := f.read(CHUNK):
            data = tail + chunk
            count += data.count(b"<c ") + data.count(b"<c>") + data.count(b":c ") + data.count(b":c>")
            tail = data[-2:]  # a tag split across chunks is counted once, in the next; 2 bytes hold no whole tag
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
