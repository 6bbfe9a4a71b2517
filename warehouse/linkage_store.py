"""The stored linkage: the person of every current victim and suspect record, kept in step with the repositories.

It lives in its own encrypted DuckDB file, `linkage.duckdb` beside the repositories, under the database key,
and never reaches the research database. Per kind (victims of both feeds; suspects) it holds:
- `<kind>_links`: each current record's linkage tokens, the attributes the research tables need, and its
  person key;
- `<kind>_persons`: one row per person and reporting year (warehouse/persons.py);
- `<kind>_profiles`: those rows counted by their values, without person keys: what a rebuild reads;
- `<kind>_submissions`: the submissions linked.
`sync_linkage` links only the submissions loaded since the last sync and drops superseded ones
(privacy/incremental.py), updating persons and profiles of the affected persons only. It relinks everything,
in batches, when the linkage rule or the key version of the stored tokens has changed (after `keys rotate`).
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from privacy.incremental import apply_change, relink_change
from privacy.linkage import LINKAGE_RULE
from warehouse.duck import transaction
from warehouse.persons import SUSPECT, VICTIM, Kind, victim_attributes

LINKAGE_FILE = "linkage.duckdb"
# Bump with every change to the stored tables: like a change of the rule's text, it makes the next sync
# rebuild the store from scratch.
STORE_LAYOUT = 1
RULE_VERSION = hashlib.sha256(f"{STORE_LAYOUT}|{LINKAGE_RULE}".encode()).hexdigest()[:16]
# Records linked per step of a full relink (a submission is never split): bounds the memory of one step.
BATCH_ROWS = 250_000
META_DDL = "CREATE TABLE IF NOT EXISTS linkage_meta (kind VARCHAR PRIMARY KEY, rule_version VARCHAR, keys VARCHAR)"


def _records(prefix: str, table: str, attributes: str, role: str | None = None) -> str:
    """The records of a batch ($batch) of submissions of `table` (all names are ours)."""
    where = f"person_role = '{role}' AND " if role else ""
    return (
        f"SELECT '{prefix}|' || submission_id || '|' || row_number AS record_key, submission_id, row_number, "
        f"document_token, name_dob_token, skeleton_token, event_token, sex, {attributes} "
        f"FROM {table} WHERE {where}submission_id IN (SELECT unnest($batch::VARCHAR[]))"
    )


def _current(*aliases: str) -> str:
    return " UNION ALL ".join(
        f"SELECT submission_id, loaded_at::VARCHAR, rows_loaded FROM {a}.submissions WHERE superseded_by IS NULL"
        for a in aliases
    )


# Per kind: its spec, its current submissions (id, rows) and its records, from repositories attached as va, le.
KINDS: dict[str, tuple[Kind, str, str]] = {
    "victim": (
        VICTIM,
        _current("va", "le"),
        f"{_records('va', 'va.victim_assistance', victim_attributes('va'))} UNION ALL BY NAME "
        f"{_records('le', 'le.law_enforcement', victim_attributes('le'), 'victim')}",
    ),
    "suspect": (SUSPECT, _current("le"), _records("le", "le.law_enforcement", SUSPECT.attributes, "suspect")),
}


@dataclass
class SyncResult:
    """What one sync did, per kind: submissions linked and dropped, records linked, whether it relinked all."""

    linked: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    full: dict[str, bool] = field(default_factory=dict)


def sync_linkage(con: duckdb.DuckDBPyConnection, store: str = "ls") -> SyncResult:
    """Bring the stored linkage (attached as `store`, read-write) in step with the repositories (va, le).

    One transaction per step, so an interrupted sync leaves a valid linkage of fewer submissions, and the
    next sync goes on from there.
    """
    con.execute(META_DDL.replace("linkage_meta", f"{store}.linkage_meta"))
    for kind in KINDS:
        _create_tables(con, store, kind, replace=False)
    keys = ",".join(
        str(v)
        for (v,) in con.execute(
            "SELECT DISTINCT key_version FROM (SELECT key_version FROM va.victim_assistance "
            "UNION ALL SELECT key_version FROM le.law_enforcement) ORDER BY 1"
        ).fetchall()
    )
    result = SyncResult()
    for kind in KINDS:
        _sync_kind(con, store, kind, keys, result)
    return result


def _create_tables(con: duckdb.DuckDBPyConnection, store: str, kind: str, replace: bool) -> None:
    """The kind's tables (replaced, or created when missing), their layout taken from the queries that fill them."""
    spec, _, records_sql = KINDS[kind]
    create = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE IF NOT EXISTS"
    records = f"SELECT *, NULL::VARCHAR AS person_key FROM ({records_sql}) LIMIT 0"
    persons = spec.persons_sql.format(records=f"({records})")
    for table, query in (
        ("links", records),
        ("persons", persons),
        ("profiles", f"SELECT {', '.join(spec.person_columns)}, 0::BIGINT AS persons FROM ({persons})"),
    ):
        con.execute(f"{create} {store}.{kind}_{table} AS {query}", {"batch": []})
    con.execute(f"{create} {store}.{kind}_submissions (submission_id VARCHAR PRIMARY KEY, loaded_at VARCHAR)")


def _sync_kind(con: duckdb.DuckDBPyConnection, store: str, kind: str, keys: str, result: SyncResult) -> None:
    _, submissions_sql, records_sql = KINDS[kind]
    meta = con.execute(f"SELECT rule_version, keys FROM {store}.linkage_meta WHERE kind = ?", [kind]).fetchone()
    result.full[kind] = meta != (RULE_VERSION, keys)
    if result.full[kind]:  # another rule, layout or keys: the stored tokens and persons are void
        _transaction(
            con,
            [],
            lambda: (
                _create_tables(con, store, kind, replace=True),  # type: ignore[func-returns-value]  # steps in order
                con.execute(
                    f"INSERT OR REPLACE INTO {store}.linkage_meta VALUES (?, ?, ?)", [kind, RULE_VERSION, keys]
                ),
            ),
        )
    # A submission loaded again under the same id (its rows replaced) counts as removed and added.
    current = {sid: (loaded, rows) for sid, loaded, rows in con.execute(submissions_sql).fetchall()}
    stored = dict(con.execute(f"SELECT submission_id, loaded_at FROM {store}.{kind}_submissions").fetchall())
    removed = sorted(s for s, loaded in stored.items() if current.get(s, (None,))[0] != loaded)
    added = sorted(s for s, (loaded, _) in current.items() if stored.get(s) != loaded)
    result.dropped[kind], result.linked[kind], result.records[kind] = len(removed), len(added), 0
    if removed:
        _step(con, store, kind, None, removed)
    for batch in _batches(added, current):
        staged = con.execute(records_sql, {"batch": batch}).to_arrow_table()
        result.records[kind] += staged.num_rows
        _step(con, store, kind, staged, [], {sid: current[sid][0] for sid in batch})


def _batches(added: list[str], rows: dict[str, tuple]) -> list[list[str]]:
    """Submissions in groups of about BATCH_ROWS rows."""
    batches: list[list[str]] = [[]]
    size = 0
    for sid in added:
        if batches[-1] and size + rows[sid][1] > BATCH_ROWS:
            batches.append([])
            size = 0
        batches[-1].append(sid)
        size += rows[sid][1]
    return [b for b in batches if b]


def _step(
    con: duckdb.DuckDBPyConnection,
    store: str,
    kind: str,
    staged: pa.Table | None,
    removed: list[str],
    batch: dict[str, str] | None = None,
) -> None:
    """Link the `staged` records of submissions `batch` (id: loaded_at) and drop those of `removed`, in one
    transaction."""
    spec = KINDS[kind][0]
    links, persons, profiles = (f"{store}.{kind}_{t}" for t in ("links", "persons", "profiles"))
    if staged is not None:
        con.register("_sync_added", staged)
    added = "SELECT * FROM _sync_added" if staged is not None else None
    affected, replacement = relink_change(con, links, added, removed)
    con.register("_sync_affected", affected)
    con.register("_sync_relinked", replacement)
    new_persons = con.execute(spec.persons_sql.format(records="_sync_relinked")).to_arrow_table()
    con.register("_sync_persons", new_persons)
    columns = ", ".join(spec.person_columns)
    # The profiles minus the affected persons' old rows plus their new ones (a few thousand rows at most).
    new_profiles = con.execute(f"""
        SELECT {columns}, sum(persons)::BIGINT AS persons FROM (
            SELECT * FROM {profiles}
            UNION ALL SELECT {columns}, -count(*) FROM {persons}
                WHERE person_key IN (SELECT person_key FROM _sync_affected) GROUP BY ALL
            UNION ALL SELECT {columns}, count(*) FROM _sync_persons GROUP BY ALL
        ) GROUP BY ALL HAVING sum(persons) <> 0""").to_arrow_table()
    con.register("_sync_profiles", new_profiles)
    try:
        _transaction(
            con,
            [
                f"DELETE FROM {persons} WHERE person_key IN (SELECT person_key FROM _sync_affected)",
                f"INSERT INTO {persons} BY NAME SELECT * FROM _sync_persons",
                f"DELETE FROM {profiles}",
                f"INSERT INTO {profiles} BY NAME SELECT * FROM _sync_profiles",
            ],
            lambda: (
                apply_change(con, links, affected, replacement),  # type: ignore[func-returns-value]  # steps in order
                con.execute(
                    f"DELETE FROM {store}.{kind}_submissions WHERE submission_id IN (SELECT unnest($r::VARCHAR[]))",
                    {"r": removed},
                ),
                con.execute(
                    f"INSERT INTO {store}.{kind}_submissions SELECT unnest($b::VARCHAR[]), unnest($l::VARCHAR[])",
                    {"b": list(batch or {}), "l": list((batch or {}).values())},
                ),
            ),
        )
    finally:
        for name in ("_sync_added", "_sync_affected", "_sync_relinked", "_sync_persons", "_sync_profiles"):
            with suppress(duckdb.Error):
                con.unregister(name)


def _transaction(con: duckdb.DuckDBPyConnection, statements: list[str], then=None) -> None:
    """Run `statements`, then `then()`, in one transaction; roll back on any error."""
    with transaction(con):
        for statement in statements:
            con.execute(statement)
        if then is not None:
            then()


def linkage_path(warehouse_dir: Path) -> Path:
    return Path(warehouse_dir) / LINKAGE_FILE
