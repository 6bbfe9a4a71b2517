"""The research database: aggregates built from both repositories, swapped in atomically."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from schemas.standard import codelists, coverage
from warehouse.duck import encrypted
from warehouse.repository import SQL, ensure_repository

RESEARCH_FILE = "research.duckdb"


def build_research_database(warehouse_dir: Path, db_key: bytes) -> dict[str, int]:
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
