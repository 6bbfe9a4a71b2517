"""The inbox's ledger file (SQLite): one way to open it, for the submissions, the cycle and the agreements."""

from __future__ import annotations

import sqlite3
from pathlib import Path

LEDGER_FILE = "ledger.sqlite"


class LedgerFile:
    """Tables kept in one ledger file; `ddl` creates them when missing."""

    def __init__(self, path: Path, ddl: str) -> None:
        self.path = Path(path)
        with self._connect() as con:
            con.executescript(ddl)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.row_factory = sqlite3.Row
        return con

    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._connect() as con:
            return con.execute(sql, args).fetchall()
