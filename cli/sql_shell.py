"""A read-only SQL prompt on one of the warehouse's DuckDB files, with the DuckDB shell's dot commands."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import duckdb

from errors import RapporteurError
from warehouse.repository import connect

HELP = """\
End each SQL statement with ';' (it may span lines). The database is read-only.
.tables [PATTERN]   list the tables and views (PATTERN: a LIKE pattern such as 'victims%')
.schema [TABLE]     show the CREATE statement of TABLE, or of every table and view
.help               show this help (also: help)
.quit / .exit       leave the shell (also: Ctrl-D)
Ctrl-C cancels the statement being typed or running, and keeps the shell.
The research tables are described in the data dictionary (docs/data-dictionary.md)."""
TABLES_SQL = """
SELECT table_name FROM duckdb_tables() WHERE NOT internal AND table_name LIKE ?
UNION SELECT view_name FROM duckdb_views() WHERE NOT internal AND view_name LIKE ?
ORDER BY 1
"""
SCHEMA_SQL = """
SELECT sql FROM (
  SELECT table_name AS name, sql FROM duckdb_tables() WHERE NOT internal
  UNION ALL SELECT view_name, sql FROM duckdb_views() WHERE NOT internal
) WHERE name LIKE ? ORDER BY name
"""
QUIT = (".quit", ".exit", "exit", "quit", ".q")


class Quit(Exception):
    """`.quit` or `.exit`: leave the shell."""


def run_sql(path: Path, command: str | None, key: bytes | None = None) -> None:
    """Run `command`, or each ';'-terminated statement or dot command read from standard input (`key`:
    encrypted file)."""
    with connect(path, read_only=True, key=key) as con:
        if command is not None:
            with contextlib.suppress(Quit):
                _run(con, command)
            return
        _loop(con, path, sys.stdin.isatty())


def _loop(con: duckdb.DuckDBPyConnection, path: Path, interactive: bool) -> None:
    """Read and run statements until end of input or `.quit`; at a terminal, Ctrl-C drops the current one."""
    if interactive:
        _line_editing()
        print(f"{path.name} (read-only). End statements with ';'. Enter .help for help, Ctrl-D to quit.")
    buffer = ""
    while True:
        try:
            line = input(("sql> " if not buffer else "...> ") if interactive else "")
            if not buffer and _is_command(line):
                _run(con, line)
                continue
            buffer += line + "\n"
            if buffer.strip().endswith(";"):
                statement, buffer = buffer, ""
                _run(con, statement)
        except EOFError:
            break
        except Quit:
            return
        except KeyboardInterrupt:
            if not interactive:
                raise
            print("^C")  # the line or query is dropped; the shell stays
            buffer = ""
        except RapporteurError as exc:
            if not interactive:
                raise
            print(exc)
    if interactive:
        print()
    elif buffer.strip():
        _run(con, buffer)


def _is_command(line: str) -> bool:
    """A dot command, or a bare `help`/`exit`/`quit` as the first line of a statement."""
    word = line.strip().rstrip(";").lower()
    return word.startswith(".") or word in ("help", "exit", "quit")


def _run(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """One dot command or SQL text."""
    if _is_command(text):
        _dot(con, text.strip().rstrip(";"))
        return
    try:  # a relation runs when shown: its errors and interruptions surface there
        relation = con.sql(text)
        if relation is not None:
            relation.show(max_rows=200, max_width=200)
    except (duckdb.InterruptException, KeyboardInterrupt):
        _cancelled(con)
    except duckdb.Error as exc:
        raise RapporteurError(f"SQL error: {str(exc).splitlines()[0]}") from None
    except RuntimeError as exc:  # DuckDB's Ctrl-C while a result is fetched
        if "interrupted" not in str(exc).lower():
            raise
        _cancelled(con)


def _cancelled(con: duckdb.DuckDBPyConnection) -> None:
    """End the interrupted query for good (a query interrupted while shown keeps the connection busy, and the
    next statement would wait for it for ever), then let the shell drop it."""
    con.interrupt()
    raise KeyboardInterrupt from None


def _dot(con: duckdb.DuckDBPyConnection, command: str) -> None:
    name, _, argument = command.partition(" ")
    name, pattern = name.lower(), argument.strip() or "%"
    if name in QUIT:
        raise Quit
    if name in (".help", "help"):
        print(HELP)
    elif name == ".tables":
        names = [r[0] for r in con.execute(TABLES_SQL, [pattern, pattern]).fetchall()]
        print("\n".join(names) if names else f"no table matches '{pattern}'")
    elif name == ".schema":
        statements = [r[0] for r in con.execute(SCHEMA_SQL, [pattern]).fetchall()]
        if not statements:
            raise RapporteurError(f"no table or view named '{pattern[:60]}': .tables lists them")
        print("\n".join(s.rstrip(";") + ";" for s in statements))
    else:
        raise RapporteurError(f"unknown command '{name[:40]}': .help lists the commands")


def _line_editing() -> None:
    """Arrow keys and history at the prompt, where the platform has readline."""
    with contextlib.suppress(ImportError):  # not on Windows
        import readline  # noqa: F401
