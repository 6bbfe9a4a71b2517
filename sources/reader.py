"""Read a provider's extract (CSV in any common encoding, XLSX, Parquet) into a table of strings."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from sources.errors import UnusableInput

ROW = "_row"  # 1 = the first data row after the header
SAMPLE_BYTES = 256 * 1024
MAX_XLSX_UNPACKED = 512 * 1024 * 1024
DELIMITERS = ",;\t|"
LEGACY_ENCODINGS = ["cp1250", "cp1251", "latin_1", "iso8859_15", "cp1257"]
MAX_FIELD_BYTES = 8 * 1024 * 1024  # a row must fit in one parse block: the first try uses pyarrow's default
# A multi-byte UTF-8 letter: in a file that is not valid UTF-8, two of these mean it mixes encodings.
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")


PREPARED_MARK = b"rapporteur.prepared_with"  # Parquet metadata of an extract made by `rapporteur prepare`


def read_prepared(source: Path | bytes) -> tuple[pa.Table, dict] | None:
    """A prepared extract (Parquet marked by `rapporteur prepare`) and its mark; None for anything else."""
    src = _Source(source, None)
    with src.open() as f:
        if f.read(4) != b"PAR1":
            return None
    try:
        parquet = pq.ParquetFile(src.open())
        mark = (parquet.schema_arrow.metadata or {}).get(PREPARED_MARK)
        return (parquet.read(), json.loads(mark)) if mark else None
    except (pa.ArrowInvalid, OSError, ValueError):
        return None


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


class _Source:
    """A file on disk or its bytes in memory (a decrypted submission), opened the same way."""

    def __init__(self, source: Path | bytes, name: str | None):
        self.data = source if isinstance(source, bytes) else None
        self.path = None if isinstance(source, bytes) else Path(source)
        self.name = name or (self.path.name if self.path else "extract")

    def open(self):
        return io.BytesIO(self.data) if self.data is not None else self.path.open("rb")


def read_extract(source: Path | bytes, sheet: str | None = None, name: str | None = None) -> Extract:
    """Read a file (a path, or its bytes) by its content, not its name; raise UnusableInput with one line.

    `name` is how messages call the file (default: its file name).
    """
    src = _Source(source, name)
    if src.path is not None and not src.path.is_file():
        raise UnusableInput(f"{src.name}: no such file")
    with src.open() as f:
        head = f.read(SAMPLE_BYTES)
    if not head.strip():
        raise UnusableInput(f"{src.name}: the file is empty; export the extract again")
    if head.startswith(b"PK\x03\x04"):
        extract = _read_xlsx(src, sheet)
    elif head.startswith(b"PAR1"):
        extract = _read_parquet(src)
    else:
        extract = _read_csv(src, head)
    if extract.rows == 0:
        raise UnusableInput(f"{src.name}: the file has a header but no data rows")
    return extract


def normalise_header(names: list[str], filename: str) -> list[str]:
    """Lower-case, trimmed, underscored column names; blank or repeated names are unusable."""
    out = [re.sub(r"\s+", "_", str(n or "").strip().lstrip("\ufeff").strip().lower()) for n in names]
    for i, name in enumerate(out, start=1):
        if not name:
            raise UnusableInput(f"{filename}: column {i} of the header has no name")
        if out.index(name) != i - 1:
            raise UnusableInput(f"{filename}: the header names column '{name[:40]}' twice", quoted=(name[:40],))
    return out


def _detect_encoding(head: bytes, filename: str) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        if b"\x00" not in head:
            return "utf-8"
    except UnicodeDecodeError:
        pass
    even, odd = head[0::2], head[1::2]
    for zeros, other, name in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        # UTF-16 without a byte-order mark: for Latin text every other byte, and only those, is zero.
        if len(zeros) > 8 and zeros.count(0) > 0.9 * len(zeros) and other.count(0) < 0.1 * len(other):
            return name
    if b"\x00" in head:
        raise UnusableInput(f"{filename}: this is not a text file (CSV), an XLSX or a Parquet file")
    if len(UTF8_SEQUENCE.findall(head)) >= 2:  # UTF-8 rows and legacy rows: one guess would garble names
        raise UnusableInput(f"{filename}: the file mixes text encodings (UTF-8 and another); export it again as UTF-8")
    try:
        head.decode("cp1252")  # the usual legacy export of Western European office software
        return "cp1252"
    except UnicodeDecodeError:
        pass
    best = from_bytes(head, cp_isolation=LEGACY_ENCODINGS).best()
    if best is None:
        raise UnusableInput(f"{filename}: the text encoding could not be detected; save it as UTF-8")
    return best.encoding


def _looks_binary(text: str) -> bool:
    """More than 1% control or non-characters: not a text export, whatever the encoding guessed."""
    bad = sum(
        1 for ch in text if (ch < " " and ch not in "\t\r\n") or "\ufff0" <= ch <= "\uffff" or "\ue000" <= ch < "\uf900"
    )
    return bad > 0.01 * max(len(text), 1)


def _quotes_balanced(path: _Source) -> bool:
    count = 0
    with path.open() as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            count += block.count(b'"')
    return count % 2 == 0


def _read_csv(path: _Source, head: bytes) -> Extract:
    encoding = _detect_encoding(head, path.name)
    # A quote byte is unambiguous in these encodings (not in UTF-16, where it is checked by parsing).
    if encoding in ("utf-8", "cp1252") and not _quotes_balanced(path):
        raise UnusableInput(f"{path.name}: the file has unbalanced quotes; export it again")
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    if _looks_binary(text):
        raise UnusableInput(f"{path.name}: this is not a text file (CSV), an XLSX or a Parquet file")
    lines = text.splitlines()[:50]
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    header = normalise_header(next(csv.reader(lines[:1], delimiter=delimiter), []), path.name)
    if len(header) < 2:
        raise UnusableInput(f"{path.name}: only one column found; use comma, semicolon, tab or | between columns")
    bad_rows: list[int] = []

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row.number or 0)  # never keep row.text: it may hold identifiers
        return "skip"

    def parse(block_size: int | None = None) -> pa.Table:
        hook = sys.unraisablehook  # pyarrow cannot hand over a bad row it cannot decode: count it, print nothing
        sys.unraisablehook = lambda _: bad_rows.append(0)
        stream = path.open()
        try:
            return pacsv.read_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    encoding=encoding,
                    column_names=header,
                    skip_rows=1,
                    **({"block_size": block_size} if block_size else {}),
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_bad_row
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in header},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        finally:
            stream.close()
            sys.unraisablehook = hook

    try:
        try:
            table = parse()
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):
                raise
            bad_rows.clear()
            table = parse(MAX_FIELD_BYTES)  # a very long row: one retry with room for it
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if bad_rows:
            raise _short_rows(path.name, bad_rows, len(header)) from None
        if "straddl" in str(exc):
            raise UnusableInput(
                f"{path.name}: a row is larger than {MAX_FIELD_BYTES >> 20} MB (a field too large?); "
                "shorten it or export it again"
            ) from None
        kind = (
            "mixes text encodings (it is not valid text in one encoding)"
            if "UTF8" in str(exc)
            else ("could not be parsed as CSV (unbalanced quotes?)")
        )
        raise UnusableInput(f"{path.name}: the file {kind}; export it again as UTF-8 CSV") from None
    if bad_rows:
        raise _short_rows(path.name, bad_rows, len(header))
    return Extract(_with_row_numbers(table), "csv", encoding, delimiter)


def _short_rows(name: str, bad_rows: list[int], width: int) -> UnusableInput:
    where = f"line {bad_rows[0]}" if bad_rows[0] else "a row"
    return UnusableInput(
        f"{name}: {len(bad_rows)} row(s) do not have {width} fields (first at {where}); "
        "the file looks truncated or has unbalanced quotes"
    )


def _read_parquet(path: _Source) -> Extract:
    try:
        table = pq.read_table(path.open())
    except (pa.ArrowInvalid, OSError):
        raise UnusableInput(f"{path.name}: the Parquet file is damaged; export it again") from None
    header = normalise_header(table.column_names, path.name)
    columns = [pa.compute.fill_null(pa.compute.cast(c, pa.string()), "") for c in table.columns]
    return Extract(_with_row_numbers(pa.table(columns, names=header)), "parquet")


def _read_xlsx(path: _Source, sheet: str | None) -> Extract:
    import openpyxl  # imported here: only XLSX extracts pay for it

    try:
        with zipfile.ZipFile(path.open()) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile:
        raise UnusableInput(f"{path.name}: the XLSX file is damaged; export it again") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise UnusableInput(f"{path.name}: the XLSX unpacks to {unpacked >> 20} MB; send it as CSV instead")
    handle = path.open()  # a file object: openpyxl would judge a path by its name
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged or non-XLSX zip
        handle.close()
        raise UnusableInput(f"{path.name}: not a readable XLSX workbook; export it again") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise UnusableInput(f"{path.name}: no sheet named '{sheet[:40]}'")
        rows = book[sheet].iter_rows(values_only=True) if sheet else book.worksheets[0].iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            raise UnusableInput(f"{path.name}: the first sheet is empty")
        width = max((i + 1 for i, v in enumerate(header_row) if v is not None), default=0)
        header = normalise_header(list(header_row[:width]), path.name)
        cols: list[list[str]] = [[] for _ in header]
        for values in rows:
            cells = [_xlsx_cell(v) for v in values[:width]] + [""] * (width - len(values))
            if not any(cells):
                continue  # trailing formatted but empty rows are common in spreadsheets
            for col, cell in zip(cols, cells, strict=True):
                col.append(cell)
    finally:
        book.close()
        handle.close()
    table = pa.table([pa.array(c, pa.string()) for c in cols], names=header)
    return Extract(_with_row_numbers(table), "xlsx")


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


def _with_row_numbers(table: pa.Table) -> pa.Table:
    return table.append_column(ROW, pa.array(range(1, table.num_rows + 1), pa.int64()))
