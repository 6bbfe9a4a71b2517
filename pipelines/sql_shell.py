"""A read-only SQL prompt on one of the warehouse's DuckDB files."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from sources.errors import RapporteurError
from warehouse.repository import connect


def run_sql(path: Path, command: str | None, key: bytes | None = None) -> None:
    """Run `command`, or each ';'-terminated statement read from standard input (`key`: encrypted file)."""
    with connect(path, read_only=True, key=key) as con:
        if command is not None:
            _run(con, command)
            return
        interactive = sys.stdin.isatty()
        if interactive:
            print(f"{path.name} (read-only). End statements with ';'. Ctrl-D quits.")
        buffer = ""
        while True:
            try:
                line = input("sql> " if interactive and not buffer else "...> " if interactive else "")
            except EOFError:
                break
            buffer += line + "\n"
            if buffer.strip().endswith(";"):
                try:
                    _run(con, buffer)
                except RapporteurError as exc:
                    if not interactive:
                        raise
                    print(exc)
                buffer = ""
        if buffer.strip():
            _run(con, buffer)


def _run(con: duckdb.DuckDBPyConnection, query: str) -> None:
    try:
        relation = con.sql(query)
    except duckdb.Error as exc:
        raise RapporteurError(f"SQL error: {str(exc).splitlines()[0]}") from None
    if relation is not None:
        relation.show(max_rows=200, max_width=200)
