"""The research database: aggregates built from both repositories, swapped in atomically."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from privacy.disclosure import margin_totals, recoverable_cells, suppress_counts
from schemas.standard import codelists, coverage
from warehouse.duck import encrypted
from warehouse.repository import SQL, ensure_repository

RESEARCH_FILE = "research.duckdb"
DEFAULT_K = 5
# The count tables researchers see: (dimensions, count column). Each is protected against small cells.
COUNT_TABLES = {
    "victims_by_year_sex": (["reporting_year", "sex"], "victim_records"),
    "suspects_by_year_stage": (["reporting_year", "stage", "offence"], "suspect_records"),
    "suspects_by_year_form": (["reporting_year", "exploitation_form"], "suspect_records"),
}


def build_research_database(warehouse_dir: Path, db_key: bytes, k: int = DEFAULT_K) -> dict[str, int]:
    """Rebuild research.duckdb beside the old one, then rename it into place; return rows per table.

    Researchers with the old file open keep their snapshot; new sessions see the new one.
    """
    warehouse_dir = Path(warehouse_dir)
    repos = {
        alias: ensure_repository(warehouse_dir, feed, db_key)
        for alias, feed in (("va", "victim-assistance"), ("le", "law-enforcement"))
    }
    target = warehouse_dir / RESEARCH_FILE
    building = warehouse_dir / f".{RESEARCH_FILE}.building"
    building.unlink(missing_ok=True)
    con = duckdb.connect(str(building))
    try:
        for alias, path in repos.items():
            encrypted(path, db_key, alias=alias, read_only=True, con=con)
        _reference_tables(con)
        con.execute((SQL / "research.sql").read_text())
        _protect(con, k)
        con.execute((SQL / "research_comments.sql").read_text())
        for alias in repos:
            con.execute(f"DETACH {alias}")
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
            ).fetchall()
        ]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(building, target)
    return counts


def _reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The standard's code lists and the national-law coverage, for joins and for researchers."""
    con.execute("CREATE TABLE code_lists (codelist VARCHAR, code VARCHAR, definition VARCHAR)")
    con.executemany(
        "INSERT INTO code_lists VALUES (?, ?, ?)",
        [(name, code, text) for name, codes in codelists().items() for code, text in codes.items()],
    )
    con.execute(
        "CREATE TABLE national_coverage (column_name VARCHAR, code VARCHAR, covered_from INTEGER, note VARCHAR)"
    )
    con.executemany(
        "INSERT INTO national_coverage VALUES (?, ?, ?, ?)",
        [
            (col, code, int(spec["covered_from"]), spec.get("note", ""))
            for col, codes in coverage().items()
            for code, spec in codes.items()
        ],
    )


def _protect(con: duckdb.DuckDBPyConnection, k: int) -> None:
    """Suppress counts under k, and enough others that no suppressed cell follows from the totals.

    Cells that are NULL by law (not covered) are not counts and stay out of the suppression.
    """
    for table, (dims, count) in COUNT_TABLES.items():
        frame = con.table(table).df()
        present = frame[count].notna()
        counted = frame[present].astype({count: "int64"})
        protected = (
            suppress_counts(counted, dims, count, k)
            if len(counted)
            else counted.assign(suppressed=False, suppression="")
        )
        if len(counted):
            totals = margin_totals(counted, dims, count, k=k, cells=protected)
            leaks = recoverable_cells(protected, dims, count, totals, k)
            if leaks:  # a bug in disclosure control, never a data problem: refuse to publish
                raise AssertionError(f"{table}: {len(leaks)} suppressed cell(s) recoverable from totals")
        rest = frame[~present].assign(suppressed=False, suppression="")
        result = pd.concat([protected, rest]).sort_values(dims, kind="stable")  # noqa: F841 (read by DuckDB)
        con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM result')
