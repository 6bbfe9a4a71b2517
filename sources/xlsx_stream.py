"""An XLSX extract (the first sheet, or a named one) streamed row by row through openpyxl's read-only mode."""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Iterator

import pyarrow as pa

from sources.errors import UnusableInput
from sources.expansion import check_xlsx
from sources.extract_stream import ExtractStream, normalise_header
from sources.source import Source


def open_xlsx(src: Source, sheet: str | None, batch_rows: int) -> ExtractStream:
    """Check the zip's unpacked size, open the workbook and read its header; the rows follow in batches."""
    import openpyxl  # imported here: only XLSX extracts pay for it

    with src.open() as f:
        check_xlsx(f, src.name)
    handle = src.open()  # a file object: openpyxl would judge a path by its name
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged or non-XLSX zip
        handle.close()
        raise UnusableInput(f"{src.name}: not a readable XLSX workbook; export it again") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise UnusableInput(f"{src.name}: no sheet named '{sheet[:40]}'")
        rows = book[sheet].iter_rows(values_only=True) if sheet else book.worksheets[0].iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            raise UnusableInput(f"{src.name}: the first sheet is empty")
        width = max((i + 1 for i, v in enumerate(header_row) if v is not None), default=0)
        header = normalise_header(list(header_row[:width]), src.name)
    except BaseException:
        book.close()
        handle.close()
        raise
    batches = _batches(rows, header, batch_rows, lambda: (book.close(), handle.close()))
    return ExtractStream.start(src.name, header, batches, format="xlsx", batch_rows=batch_rows)


def _batches(rows: Iterator[tuple], header: list[str], size: int, close) -> Generator[pa.RecordBatch]:
    width = len(header)
    try:
        cols: list[list[str]] = [[] for _ in header]
        for values in rows:
            cells = [_xlsx_cell(v) for v in values[:width]] + [""] * (width - len(values))
            if not any(cells):
                continue  # trailing formatted but empty rows are common in spreadsheets
            for col, cell in zip(cols, cells, strict=True):
                col.append(cell)
            if len(cols[0]) == size:
                yield _batch(cols, header)
                cols = [[] for _ in header]
        yield _batch(cols, header)
    finally:
        close()


def _batch(cols: list[list[str]], header: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in cols], names=header)


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
