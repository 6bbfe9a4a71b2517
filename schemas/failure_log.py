"""A validation's failures as they are found: counted by rule and column, the first ones held for a report's
page, and every one written to a CSV stream as it comes, so that memory need not grow with the failures."""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

import pyarrow as pa

from sources.spreadsheet import safe_cell

MAX_HELD = 1_000  # failures a report shows on its page (and the portal keeps in memory); the rest are in the CSV
CSV_COLUMNS = ["row_number", "column_name", "rule", "message", "value"]


class FailureLog:
    """Takes each batch's failures (a FAILURE_SCHEMA table) in file order.

    It holds the first `held` of them (None: all, as the pipeline needs to quarantine them), counts them all by
    rule and column, and writes them all to `csv_out` (UTF-8 with a BOM, so spreadsheets read accents right;
    cells neutralised against formulas) when one is given.
    """

    def __init__(self, held: int | None = None, csv_out: BinaryIO | None = None):
        self._room = held
        self._held: list[pa.Table] = []
        self._by_rule: dict[tuple[str, str], list] = {}  # (rule, column) -> [count, first message]
        self.total = 0
        self._text = io.TextIOWrapper(csv_out, "utf-8-sig", newline="", write_through=True) if csv_out else None
        self._csv = csv.writer(self._text) if self._text else None
        if self._csv:
            self._csv.writerow(CSV_COLUMNS)

    def add(self, failures: pa.Table) -> None:
        self.total += failures.num_rows
        # take, not slice: a slice would keep the whole batch's buffers alive
        room = failures.num_rows if self._room is None else min(self._room, failures.num_rows)
        kept = failures if room == failures.num_rows else failures.take(pa.array(range(room), pa.int64()))
        if kept.num_rows:
            self._held.append(kept)
        if self._room is not None:
            self._room -= kept.num_rows
        counts = failures.group_by(["rule", "column_name"], use_threads=False).aggregate(
            [("row_number", "count"), ("message", "first")]
        )  # groups in order of first appearance
        for group in counts.to_pylist():
            counted = self._by_rule.setdefault((group["rule"], group["column_name"]), [0, group["message_first"]])
            counted[0] += group["row_number_count"]
        if self._csv:
            columns = [failures.column(c).to_pylist() for c in CSV_COLUMNS]
            self._csv.writerows([safe_cell(cell) for cell in row] for row in zip(*columns, strict=True))

    def held(self, schema: pa.Schema) -> pa.Table:
        """The failures held (every one unless a bound was given), as one table."""
        return pa.concat_tables(self._held) if self._held else schema.empty_table()

    def by_rule(self) -> list[tuple[str, str, int, str]]:
        """(rule, column, failures, first message) of every failure, the most frequent first."""
        rows = [(rule, column, n, message) for (rule, column), (n, message) in self._by_rule.items()]
        return sorted(rows, key=lambda r: -r[2])

    def finish(self) -> None:
        """Flush the CSV stream (the caller closes it)."""
        if self._text:
            self._text.flush()
            self._text.detach()
            self._text = self._csv = None
