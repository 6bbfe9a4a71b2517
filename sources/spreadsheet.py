"""Spreadsheet-safe cells: every CSV or XLSX the product writes goes through here (formula injection).

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (and, in some programs, a tab or a
carriage return) as a formula, so text from a provider's file could make a bureau analyst's machine
fetch a URL or run a command. Text is therefore written with a leading apostrophe; a real number
(an int or a float, never text that looks like one) is written as a number, so -3 stays -3.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """`value` as CSV text that a spreadsheet shows and never runs: text that could start a formula gets `'`."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number in a numeric column stays a number, sign included
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def safe_csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text whose every cell is `safe_cell` (for a file, or a download the portal serves)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return out.getvalue()


def write_safe_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write `safe_csv_text` as UTF-8 with a BOM, so that spreadsheets read accents right."""
    Path(path).write_bytes(safe_csv_text(header, rows).encode("utf-8-sig"))
    return Path(path)
