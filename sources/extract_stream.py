"""An extract read as a stream of record batches of strings, numbered by data row across batches."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from itertools import chain

import pyarrow as pa

from errors import UnusableInput

ROW = "_row"  # 1 = the first data row after the header
BATCH_ROWS = 100_000


@dataclass
class ExtractStream:
    """A provider file being read: its normalised header and how it was read, then its rows in batches.

    `batches()` gives record batches of at most `batch_rows` rows: every column of `columns` a non-null
    string ('' when blank), then the int64 `ROW` column. It can be iterated once. A problem found only
    while reading (a short row, a row too long, bad bytes mid-file) raises UnusableInput from the
    iterator, after the batches before it: a caller keeps nothing until the iterator is exhausted.
    """

    columns: list[str]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)
    batch_rows: int = BATCH_ROWS
    _rows: Iterator[pa.RecordBatch] | None = field(default=None, repr=False)
    _reader: Generator | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    @classmethod
    def start(cls, name: str, columns: list[str], rows: Generator[pa.RecordBatch], **how) -> ExtractStream:
        """Read up to the first data row now, so an empty or unreadable start is an error of `open_extract`."""
        for first in rows:
            if first.num_rows:
                return cls(columns, _rows=chain([first], rows), _reader=rows, **how)
        raise UnusableInput(f"{name}: the file has a header but no data rows")

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(c, pa.string()) for c in self.columns] + [(ROW, pa.int64())])

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._rows is None:
            raise RuntimeError("the batches of an extract can be read once")
        rows, self._rows = self._rows, None
        return _numbered(_rebatched(self._until_closed(rows), self.batch_rows), self.schema)

    def _until_closed(self, rows: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from rows
        if self._closed:  # a closed reader just stops: never let that pass for the end of the file
            raise RuntimeError("the extract was closed before all its batches were read")

    def close(self) -> None:
        """Release the file now (an abandoned stream also releases it when it is garbage-collected)."""
        self._rows, self._closed = None, True
        if self._reader is not None:
            self._reader.close()

    def __enter__(self) -> ExtractStream:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def _rebatched(rows: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Batches of exactly `size` rows (the last one shorter), whatever the size of the reader's blocks."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for block in rows:
        while block.num_rows:
            take = min(block.num_rows, size - count)
            pending.append(block.slice(0, take))
            count += take
            block = block.slice(take)
            if count == size:
                yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)
                pending, count = [], 0
    if count:
        yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)


def _numbered(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    first = 1
    for batch in batches:
        numbers = pa.array(range(first, first + batch.num_rows), pa.int64())
        yield pa.RecordBatch.from_arrays([*batch.columns, numbers], schema=schema)
        first += batch.num_rows


def normalise_header(names: list[str], filename: str) -> list[str]:
    """Lower-case, trimmed, underscored column names; blank or repeated names are unusable."""
    out = [re.sub(r"\s+", "_", str(n or "").strip().lstrip("\ufeff").strip().lower()) for n in names]
    for i, name in enumerate(out, start=1):
        if not name:
            raise UnusableInput(f"{filename}: column {i} of the header has no name")
        if out.index(name) != i - 1:
            raise UnusableInput(f"{filename}: the header names column '{name[:40]}' twice", quoted=(name[:40],))
    return out
