"""Incremental linkage: relink only the persons a change touches, with the same result as a full relink.

A stored linkage is a table of records (record_key, submission_id, row_number, person_key, the four linkage
tokens, sex, and any other columns, which are carried along) whose person keys are `link_records` over all
of them. A change adds records and removes the records of some submissions (a superseded submission). Every
agreement of the rule is between records that share a token, and whether rule (4) applies depends only on
the records of one event token. So a person none of whose records shares a token with an added or removed
record keeps exactly its records and its key, and no new agreement reaches it. The persons that do share one
(the affected persons) are relinked, with the added records, by `link_records`; rule (4) is told which of
their event tokens point to two people among all records. The result equals `link_records` over the whole
new record set (tests/privacy/test_incremental.py).
"""

from __future__ import annotations

import uuid

import duckdb
import pyarrow as pa

from privacy.linkage import link_records

TOKENS = ("document_token", "name_dob_token", "skeleton_token", "event_token")
# The columns of a stored linkage, in order.
STORED = ("record_key", "submission_id", "row_number", "person_key", *TOKENS, "sex")
RECORD_COLUMNS = ", ".join(c for c in STORED if c != "person_key")


def stored_links_ddl(table: str) -> str:
    """DDL of a stored linkage table (`table` is ours, never user input)."""
    return f"""
        CREATE TABLE IF NOT EXISTS {table} (
            record_key VARCHAR NOT NULL, submission_id VARCHAR NOT NULL, row_number BIGINT NOT NULL,
            person_key VARCHAR NOT NULL, document_token VARCHAR, name_dob_token VARCHAR, skeleton_token VARCHAR,
            event_token VARCHAR, sex VARCHAR
        )"""


def relink_change(
    con: duckdb.DuckDBPyConnection, links: str, added_sql: str | None, removed: list[str]
) -> tuple[pa.Table, pa.Table]:
    """The change to the stored linkage `links` when `added_sql` records come and `removed` submissions go.

    `added_sql` selects records not in `links`, with its columns but person_key (None: nothing is added).
    Returns (affected person keys, replacement rows with the columns of `links`): delete the stored rows of the
    affected persons, insert the replacement rows, and `links` is again `link_records` over its records.
    Nothing is written to `links` here.
    """
    tag = uuid.uuid4().hex[:12]
    added, gone, affected, subset, ambiguous = (
        f"_inc_{name}_{tag}" for name in ("added", "gone", "affected", "subset", "ambiguous")
    )
    removed_ids = "(SELECT unnest($removed::VARCHAR[]))"
    kept = f"(SELECT * FROM {links} WHERE submission_id NOT IN {removed_ids})"
    added_sql = added_sql or f"SELECT * EXCLUDE (person_key) FROM {links} WHERE false"
    try:
        con.execute(f"CREATE TEMP TABLE {added} AS SELECT * FROM ({added_sql})")
        con.execute(
            f"CREATE TEMP TABLE {gone} AS SELECT * FROM {links} WHERE submission_id IN {removed_ids}",
            {"removed": removed},
        )
        # The affected persons: those of removed records, and those sharing any token with a changed record.
        touching = [
            f"SELECT person_key FROM {links} WHERE {token} IN "
            f"(SELECT {token} FROM {added} WHERE {token} IS NOT NULL "
            f"UNION ALL SELECT {token} FROM {gone} WHERE {token} IS NOT NULL)"
            for token in TOKENS
        ]
        con.execute(
            f"CREATE TEMP TABLE {affected} AS SELECT DISTINCT person_key FROM "
            f"({' UNION ALL '.join([f'SELECT person_key FROM {gone}', *touching])})"
        )
        con.execute(
            f"CREATE TEMP TABLE {subset} AS SELECT * EXCLUDE (person_key) FROM {kept} "
            f"WHERE person_key IN (SELECT person_key FROM {affected}) UNION ALL BY NAME SELECT * FROM {added}",
            {"removed": removed},
        )
        # Rule (4) counts the people of an event token over every record, not only the relinked ones.
        con.execute(
            f"""CREATE TEMP TABLE {ambiguous} AS
            SELECT event_token FROM (
                SELECT event_token, skeleton_token FROM {kept}
                WHERE event_token IN (SELECT event_token FROM {subset} WHERE event_token IS NOT NULL)
                UNION ALL SELECT event_token, skeleton_token FROM {added} WHERE event_token IS NOT NULL
            ) GROUP BY event_token HAVING count(DISTINCT skeleton_token) > 1""",
            {"removed": removed},
        )
        relinked = link_records(con, f"SELECT * FROM {subset}", ambiguous_events=ambiguous)
        con.register(f"{subset}_links", relinked)
        replacement = con.execute(
            f"SELECT s.*, l.person_key FROM {subset} s JOIN {subset}_links l USING (record_key)"
        ).to_arrow_table()
        con.unregister(f"{subset}_links")
        return con.table(affected).to_arrow_table(), replacement
    finally:
        for table in (added, gone, affected, subset, ambiguous):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def apply_change(con: duckdb.DuckDBPyConnection, links: str, affected: pa.Table, replacement: pa.Table) -> None:
    """Replace the affected persons' rows of `links` (inside the caller's transaction)."""
    con.register("_inc_affected", affected)
    con.register("_inc_replacement", replacement)
    try:
        con.execute(f"DELETE FROM {links} WHERE person_key IN (SELECT person_key FROM _inc_affected)")
        con.execute(f"INSERT INTO {links} BY NAME SELECT * FROM _inc_replacement")
    finally:
        con.unregister("_inc_affected")
        con.unregister("_inc_replacement")
