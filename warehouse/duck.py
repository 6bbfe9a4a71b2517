"""DuckDB connections to encrypted database files (AES-GCM through DuckDB's httpfs/OpenSSL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from errors import KeyringError, RepositoryBusy
from privacy import access_log


@cache
def httpfs_extension() -> str:
    """The httpfs extension shipped in the duckdb-extension-httpfs wheel (nothing is downloaded)."""
    import duckdb_extension_httpfs

    found = sorted(Path(duckdb_extension_httpfs.__file__).parent.rglob("httpfs.duckdb_extension"))
    if not found:
        raise RuntimeError("duckdb-extension-httpfs is installed without its extension file")
    return str(found[-1])


def encrypted(
    path: Path, key: bytes, alias: str = "repo", read_only: bool = False, con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection with `path` attached as `alias`, encrypted under `key`, and selected with USE.

    Pass `con` to attach to an existing connection (then the caller keeps its current database).
    """
    own = con is None
    con = con or duckdb.connect()
    try:
        con.execute(f"LOAD '{httpfs_extension()}'")
        # What DuckDB spills to disk (a large load or query beyond its memory limit) is encrypted too. Once a
        # connection has spilled, DuckDB refuses to change the setting: attaching another file is then no error.
        if not scalar(con, "SELECT current_setting('temp_file_encryption')"):
            con.execute("SET temp_file_encryption = true")
        options = f"ENCRYPTION_KEY '{key.hex()}'" + (", READ_ONLY" if read_only else "")
        quoted = str(path).replace("'", "''")  # ATTACH takes no parameters; the path is ours
        con.execute(f"ATTACH '{quoted}' AS {alias} ({options})")
        access_log.record("open read-only" if read_only else "open", Path(path).name)
        if own:
            con.execute(f"USE {alias}")
    except duckdb.Error as exc:
        if own:
            con.close()
        text = str(exc).lower()
        if "lock" in text:
            raise busy(path) from None
        if "encryption key" in text or "without a key" in text or "encrypt" in text:
            raise KeyringError(f"{Path(path).name} does not open with this keyring's database key") from None
        raise
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The one value of an aggregate query (which always gives one row)."""
    row = con.execute(sql).fetchone()
    assert row is not None, "an aggregate gives one row"
    return row[0]


def busy(path: Path) -> RepositoryBusy:
    """The error for a database file another process holds open (DuckDB allows one writer per file)."""
    return RepositoryBusy(f"{Path(path).name} is open in another process; wait for it to finish and retry")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back on any error (then raised again)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with suppress(duckdb.Error):  # a failed COMMIT (disk full) has already ended the transaction
            con.execute("ROLLBACK")
        raise
