"""A CSV extract in any common encoding and delimiter, streamed through pyarrow in blocks of bytes."""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

from errors import UnusableInput
from sources.encoding import detect_encoding, looks_binary
from sources.extract_stream import ExtractStream, normalise_header
from sources.source import Source
from sources.undecodable_rows import counted

DELIMITERS = ",;\t|"
# pyarrow reads ahead up to 32 blocks, so the block size sets the reader's memory. A row must fit in one
# block: a file with a longer row is read again with room for it, from the row where the first read stopped.
BLOCK_BYTES = 1 << 20
MAX_FIELD_BYTES = 8 * 1024 * 1024


def open_csv(src: Source, head: bytes, batch_rows: int) -> ExtractStream:
    """Detect the encoding, delimiter and header from `head` (the first bytes), then stream the rows."""
    encoding = detect_encoding(head, src.name)
    # A quote byte is unambiguous in these encodings (not in UTF-16, where it is checked by parsing).
    if encoding in ("utf-8", "cp1252") and not _quotes_balanced(src):
        raise UnusableInput(f"{src.name}: the file has unbalanced quotes; export it again")
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    if looks_binary(text):
        raise UnusableInput(f"{src.name}: this is not a text file (CSV), an XLSX or a Parquet file")
    lines = text.splitlines()[:50]
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    header = normalise_header(next(csv.reader(lines[:1], delimiter=delimiter), []), src.name)
    if len(header) < 2:
        raise UnusableInput(f"{src.name}: only one column found; use comma, semicolon, tab or | between columns")
    rows = _CsvRows(src, encoding, delimiter, header).read()
    return ExtractStream.start(
        src.name, header, rows, format="csv", encoding=encoding, delimiter=delimiter, batch_rows=batch_rows
    )


def _quotes_balanced(src: Source) -> bool:
    """One pass counting quote bytes (memory speed); an odd count would make pyarrow swallow the file."""
    count = 0
    with src.open() as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            count += block.count(b'"')
    return count % 2 == 0


class _CsvRows:
    """The rows of one CSV file as pyarrow's blocks, with the bad rows counted (never their text)."""

    def __init__(self, src: Source, encoding: str, delimiter: str, header: list[str]):
        self.src, self.encoding, self.delimiter, self.header = src, encoding, delimiter, header
        self.bad_rows: list[int] = []

    def read(self) -> Generator[pa.RecordBatch]:
        """Every row once. After a bad row nothing more is given, but the rest is read to count them all."""
        given = 0
        for block_size in (BLOCK_BYTES, MAX_FIELD_BYTES):
            self.bad_rows.clear()
            seen = 0
            try:
                for block in self._parse(block_size):
                    seen += block.num_rows
                    if not self.bad_rows and seen > given:
                        yield block.slice(max(0, block.num_rows - (seen - given)))  # a re-read skips rows given
                        given = seen
                break
            except pa.ArrowInvalid as exc:
                if "straddl" in str(exc) and block_size < MAX_FIELD_BYTES:
                    continue  # a row longer than the block: read again with room for it
                raise self._error(exc) from None
            except UnicodeDecodeError as exc:
                raise self._error(exc) from None
        if self.bad_rows:
            raise _short_rows(self.src.name, self.bad_rows, len(self.header))

    def _parse(self, block_size: int) -> Iterator[pa.RecordBatch]:
        def on_bad_row(row: pacsv.InvalidRow) -> str:
            self.bad_rows.append(row.number or 0)  # never keep row.text: it may hold identifiers
            return "skip"

        def count_undecodable() -> None:
            self.bad_rows.append(0)

        source = self.src.arrow()
        try:
            with counted(on_bad_row, count_undecodable):
                reader = pacsv.open_csv(
                    source,
                    read_options=pacsv.ReadOptions(
                        encoding=self.encoding,
                        column_names=self.header,
                        skip_rows=1,
                        block_size=block_size,
                        use_threads=False,  # rows are parsed in our own call, where `counted` applies
                    ),
                    parse_options=pacsv.ParseOptions(
                        delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=on_bad_row
                    ),
                    convert_options=pacsv.ConvertOptions(
                        column_types={c: pa.string() for c in self.header},
                        strings_can_be_null=False,
                        quoted_strings_can_be_null=False,
                    ),
                )
            while True:
                with counted(on_bad_row, count_undecodable):
                    try:
                        block = reader.read_next_batch()
                    except StopIteration:
                        return
                yield block
        finally:
            if hasattr(source, "close"):
                source.close()

    def _error(self, exc: Exception) -> UnusableInput:
        """The one line for a parse failure; pyarrow's own message is never used (it quotes the row)."""
        if self.bad_rows:
            return _short_rows(self.src.name, self.bad_rows, len(self.header))
        if "straddl" in str(exc):
            return UnusableInput(
                f"{self.src.name}: a row is larger than {MAX_FIELD_BYTES >> 20} MB (a field too large?); "
                "shorten it or export it again"
            )
        kind = (
            "mixes text encodings (it is not valid text in one encoding)"
            if "UTF8" in str(exc)
            else ("could not be parsed as CSV (unbalanced quotes?)")
        )
        return UnusableInput(f"{self.src.name}: the file {kind}; export it again as UTF-8 CSV")


def _short_rows(name: str, bad_rows: list[int], width: int) -> UnusableInput:
    where = f"data row {bad_rows[0] - 1}" if bad_rows[0] else "a row"  # pyarrow counts the header as row 1
    return UnusableInput(
        f"{name}: {len(bad_rows)} row(s) do not have {width} fields (first at {where}); "
        "the file looks truncated or has unbalanced quotes"
    )
