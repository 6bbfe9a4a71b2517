"""An XLSX extract (the sheet that holds the data, or a named one) streamed row by row (openpyxl, read-only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Generator, Iterator

import pyarrow as pa

from errors import SheetChoice, UnusableInput
from sources.expansion import check_xlsx
from sources.extract_stream import ExtractStream, normalise_header
from sources.source import Source


def open_xlsx(
    src: Source, sheet: str | None, batch_rows: int, expected: Collection[str] | None = None
) -> ExtractStream:
    """Check what the zip unpacks to, open the workbook, find the sheet (`sheet`, or the one whose header names
    the `expected` columns) and read its header; the rows follow in batches."""
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
        chosen, note = _choose_sheet(book, sheet, expected, src.name)
        rows = chosen.iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            raise UnusableInput(f"{src.name}: the sheet '{chosen.title[:40]}' is empty", quoted=(chosen.title[:40],))
        width = max((i + 1 for i, v in enumerate(header_row) if v is not None), default=0)
        header = normalise_header(list(header_row[:width]), src.name)
    except BaseException:
        book.close()
        handle.close()
        raise
    batches = _batches(rows, header, batch_rows, lambda: (book.close(), handle.close()))
    notes = [note] if note else []
    return ExtractStream.start(src.name, header, batches, format="xlsx", batch_rows=batch_rows, notes=notes)


def _choose_sheet(book, sheet: str | None, expected: Collection[str] | None, name: str):
    """The named sheet; else the one sheet whose first row names every `expected` column (or, failing that,
    the one naming at least half of them); else the first sheet when it is the only one. SheetChoice otherwise.
    Returns the sheet and a note when it is not the first."""
    sheets = book.worksheets
    titles = [s.title for s in sheets]
    if not sheets:
        raise UnusableInput(f"{name}: the workbook has no sheet of cells; export the extract again")
    if sheet is not None:
        if sheet not in titles:
            reason = f"no sheet is named '{_shown(sheet)}' (the sheets: {_listed(titles)})"
            raise SheetChoice(name, reason, titles)
        return book[sheet], None
    if expected is None or len(sheets) == 1:
        return sheets[0], None
    scores = [_score(s, expected) for s in sheets]
    full = [s for s, n in zip(sheets, scores, strict=True) if n == len(expected)]
    half = [s for s, n in zip(sheets, scores, strict=True) if 2 * n >= len(expected)]
    if len(full) > 1:
        raise SheetChoice(name, f"the sheets {_listed([s.title for s in full])} all hold an extract", titles)
    chosen = full or half
    if len(chosen) > 1:
        raise SheetChoice(name, f"the sheets {_listed([s.title for s in chosen])} all look like an extract", titles)
    if not chosen:
        reason = f"no sheet has the standard's column names in its first row (the sheets: {_listed(titles)})"
        raise SheetChoice(name, reason, titles)
    first = chosen[0] is sheets[0]
    note = None if first else f"read the sheet '{_shown(chosen[0].title)}', whose first row is the header"
    return chosen[0], note


def _score(sheet, expected: Collection[str]) -> int:
    """How many `expected` columns the sheet's first row names (lower-case, spaces as underscores)."""
    first = next(sheet.iter_rows(max_row=1, values_only=True), ()) or ()
    names = {"_".join(str(v).strip().lower().split()) for v in first if v is not None}
    return len(names & set(expected))


def _shown(title: str) -> str:
    """A sheet name as a message shows it: 40 characters at most, on one line."""
    return "".join(c if c.isprintable() else "?" for c in title[:40])


def _listed(titles: list[str]) -> str:
    more = f" and {len(titles) - 20} more" if len(titles) > 20 else ""
    return ", ".join(f"'{_shown(t)}'" for t in titles[:20]) + more


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
