"""The two repositories (separate DuckDB files) and the one-transaction load of a submission."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from errors import RapporteurError
from privacy.pseudonymise import ESCROW_PREFIX
from schemas.standard import feed as feed_spec
from warehouse.duck import busy, encrypted, scalar, transaction

SQL = Path(__file__).parent / "sql"
# DuckDB's memory while loading: a large submission goes to the file, not memory. DuckDB keeps the blocks it
# wrote cached up to this limit: at 512MB a 3-million-row load grew by 0.7 GB; at 160MB it stayed flat, no slower.
LOAD_MEMORY = "192MB"
SCHEMA_VERSION = 4  # bump with every change to sql/*.sql that an existing file would not have


@dataclass(frozen=True)
class LoadResult:
    """What one load wrote."""

    submission_id: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    superseded: list[str]


def repository_path(warehouse_dir: Path, feed: str) -> Path:
    return Path(warehouse_dir) / f"{feed_spec(feed).repository}.duckdb"


def escrow_path(warehouse_dir: Path, feed: str) -> Path:
    """The escrow of a repository: its first-level tokens, encrypted under the escrow key, for re-keying."""
    return Path(warehouse_dir) / f"{feed_spec(feed).repository}_escrow.duckdb"


ESCROW_DDL = """
CREATE TABLE IF NOT EXISTS escrow (
    submission_id VARCHAR NOT NULL, row_number BIGINT NOT NULL, person_role VARCHAR NOT NULL,
    l1_document VARCHAR, l1_name_dob VARCHAR, l1_skeleton VARCHAR, l1_event VARCHAR
)
"""


def _escrow_part(rows: pa.Table) -> pa.Table:
    """The first-level tokens of pseudonymised rows, with their row number and role: what the escrow keeps."""
    first = _first_level(rows)
    roles = (
        rows.column("person_role")
        if "person_role" in rows.column_names
        else pa.array(["victim"] * rows.num_rows, pa.string())
    )
    return rows.select(["row_number", *first]).append_column("person_role", roles)


@contextmanager
def connect(path: Path, read_only: bool = False, key: bytes | None = None):
    """A connection to a DuckDB file, encrypted under `key` when given; a held lock is a clear error."""
    if key is not None:
        con = encrypted(path, key, read_only=read_only)
    else:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise busy(path) from None
            raise
    try:
        yield con
    finally:
        con.close()


def ensure_repository(warehouse_dir: Path, feed: str, key: bytes) -> Path:
    """Create the feed's (encrypted) repository and its tables if they do not exist yet."""
    path = repository_path(warehouse_dir, feed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path, key=key) as con:
        _ensure_tables(con, path, feed)
    return path


def _ensure_tables(con: duckdb.DuckDBPyConnection, path: Path, feed: str) -> None:
    """The repository's tables, on an open connection; a file of another layout version is a clear error."""
    con.execute((SQL / "common.sql").read_text())
    found = scalar(con, "SELECT max(schema_version) FROM repository_meta")
    if found is None:
        con.execute("INSERT INTO repository_meta VALUES (?)", [SCHEMA_VERSION])
    elif found != SCHEMA_VERSION:
        raise RapporteurError(
            f"{path.name} has layout version {found} but this version of rapporteur needs {SCHEMA_VERSION}; "
            "move the file aside (demo data: `make clean`) and load the submissions again"
        )
    con.execute((SQL / f"{feed_spec(feed).repository}.sql").read_text())


def load_submission(
    warehouse_dir: Path,
    *,
    submission_id: str,
    feed: str,
    provider: str,
    period: str,
    content_sha256: str,
    received_at: str | None,
    rows: Callable[[], Iterable[pa.Table | pa.RecordBatch]],
    counted: Callable[[], tuple[int, pa.Table]],
    key_version: int,
    codelist_version: str,
    db_key: bytes,
    escrow_key: bytes,
) -> LoadResult:
    """Load one submission, batch by batch: its rows, its quarantine and its ledger entry.

    `rows()` streams the pseudonymised rows (never held whole; it is read twice). The first-level tokens
    go to the escrow, in one transaction written through to its file; then the rest to the repository in
    one transaction, with `counted()`: the rows that came in and the failures (stored form). Nothing is
    committed to the repository unless loaded + quarantined rows = rows in. A crash or failed write between
    the two leaves escrow rows that the reload replaces, never repository rows without their escrow (which
    could not be re-keyed). Reloading the same submission replaces it; an earlier submission of the same
    provider, feed and period is marked superseded (kept, but out of the current views).
    """
    path = repository_path(warehouse_dir, feed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(escrow_path(warehouse_dir, feed), key=escrow_key) as escrow:
        escrow.execute(f"SET memory_limit = '{LOAD_MEMORY}'")
        escrow.execute(ESCROW_DDL)
        with transaction(escrow):
            escrow.execute("DELETE FROM escrow WHERE submission_id = ?", [submission_id])
            for batch in rows():
                _insert(escrow, "escrow", _escrow_part(_table(batch)), submission_id)
        escrow.execute("CHECKPOINT")
    table = feed_spec(feed).table
    with connect(path, key=db_key) as con:
        con.execute(f"SET memory_limit = '{LOAD_MEMORY}'")
        _ensure_tables(con, path, feed)
        with transaction(con):
            for t in (table, "quarantine", "submissions"):
                con.execute(f"DELETE FROM {t} WHERE submission_id = ?", [submission_id])
            loaded = 0
            for batch in rows():
                batch = _table(batch)
                _insert(con, table, batch.drop_columns(_first_level(batch)), submission_id, provider)
                loaded += batch.num_rows
            rows_in, failures = counted()
            quarantined = len(set(failures.column("row_number").to_pylist()))
            if loaded + quarantined != rows_in:
                raise AssertionError(
                    f"submission {submission_id}: {rows_in} rows in but {loaded} loaded + {quarantined} quarantined"
                )
            con.register("staged_failures", failures)
            con.execute(
                "INSERT INTO quarantine SELECT ?, row_number, column_name, rule, message FROM staged_failures",
                [submission_id],
            )
            superseded = [
                r[0]
                for r in con.execute(
                    "UPDATE submissions SET superseded_by = ?, status = 'superseded' "
                    "WHERE provider = ? AND feed = ? AND period = ? AND superseded_by IS NULL "
                    "RETURNING submission_id",
                    [submission_id, provider, feed, period],
                ).fetchall()
            ]
            con.execute(
                "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', NULL, ?, ?)",
                [
                    submission_id,
                    provider,
                    feed,
                    period,
                    content_sha256,
                    received_at,
                    dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    rows_in,
                    loaded,
                    quarantined,
                    key_version,
                    codelist_version,
                ],
            )
    return LoadResult(submission_id, rows_in, loaded, quarantined, superseded)


def _insert(con: duckdb.DuckDBPyConnection, table: str, staged: pa.Table, submission_id: str, *provider: str) -> None:
    """Append `staged` to `table` by name, with the submission id (and the provider, when given).

    DuckDB reads `staged` from this function's variables: a view registered inside the load's transaction
    would keep every batch alive until COMMIT (the whole submission in memory)."""
    given = ", ? AS provider" if provider else ""
    con.execute(
        f"INSERT INTO {table} BY NAME SELECT ? AS submission_id{given}, * FROM staged", [submission_id, *provider]
    )


def _table(batch: pa.Table | pa.RecordBatch) -> pa.Table:
    return pa.table(batch) if isinstance(batch, pa.RecordBatch) else batch


def _first_level(rows: pa.Table) -> list[str]:
    return [c for c in rows.column_names if c.startswith(ESCROW_PREFIX)]


def repository_counts(warehouse_dir: Path, feed: str, key: bytes) -> dict[str, int]:
    """Rows loaded and quarantined in the current (not superseded) submissions of `feed`."""
    path = repository_path(warehouse_dir, feed)
    if not path.exists():
        return {"submissions": 0, "rows_loaded": 0, "rows_quarantined": 0}
    with connect(path, read_only=True, key=key) as con:
        n, loaded, quarantined = con.execute(
            "SELECT count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
            "FROM submissions WHERE superseded_by IS NULL"
        ).fetchone()
    return {"submissions": n, "rows_loaded": int(loaded), "rows_quarantined": int(quarantined)}
