"""Record linkage over keyed tokens: the documented match rule and its transitive closure, in DuckDB SQL.

The records never leave DuckDB: edges come from window functions over token groups (each record is joined
to the first record of every group it belongs to, a star rather than all pairs), and the connected
components come from iterated min-label propagation with pointer jumping. Python only loops over
iterations (a handful, each a set-based query), never over rows.
"""

from __future__ import annotations

import uuid
from typing import Any

import duckdb
import pyarrow as pa

LINKAGE_RULE = (
    "Two records are taken to describe the same person when they agree on at least one of: "
    "(1) the document token (the same document number, letters and digits only, case ignored); "
    "(2) the name and date of birth token (the same normalised name words, in any order, and the same date "
    "of birth); "
    "(3) the skeleton token (the same error-tolerant phonetic code of every name word, in any order, and the "
    "same date of birth) together with the same recorded sex, where a missing or unknown sex agrees with any; "
    "(4) for a record without a date of birth only: the event token (the same error-tolerant name code, the "
    "same sex and the same identification date, or investigation date in law enforcement), provided that the "
    "records sharing that event token which do have a date of birth all agree on one skeleton token (if they "
    "point to two different people, the record is not linked by this rule). "
    "A missing token never agrees with anything. Persons are the connected components of these agreements "
    "(the transitive closure: if A matches B and B matches C, all three are one person), so every record "
    "belongs to exactly one person and a record that matches nothing is a person of its own."
)

# Sex values that agree with any sex in rule (3).
_ANY_SEX = "('unknown', '')"
MAX_ITERATIONS = 100


# The token agreements of the rule: (token column, whether the records' sex must also agree).
RULES: list[tuple[str, bool]] = [
    ("document_token", False),
    ("name_dob_token", False),
    ("skeleton_token", True),
]


def _edges_sql(records: str, rules: list[tuple[str, bool]], event: bool, ambiguous: str | None = None) -> str:
    """(id, root) pairs: each record to the smallest id of every token group it belongs to.

    `ambiguous` (a table of event_token) names event tokens that point to two people among records outside
    `records` as well: rule (4) never applies to them.
    """
    sex = f"CASE WHEN coalesce(sex, '') IN {_ANY_SEX} THEN NULL ELSE sex END"
    parts = []
    for token, with_sex in rules:
        if not with_sex:
            parts.append(
                f"SELECT id, min(id) OVER (PARTITION BY {token}) AS root FROM {records} WHERE {token} IS NOT NULL"
            )
            continue
        # Records of a known sex join the group of (token, sex); records of missing or unknown sex join the
        # group of the token as a whole, so they agree with every sex.
        parts.append(
            f"SELECT id, min(id) OVER (PARTITION BY {token}, {sex}) AS root FROM {records} WHERE {token} IS NOT NULL"
        )
        parts.append(f"""
            SELECT s.id, w.root FROM {records} s
            JOIN (SELECT {token}, min(id) AS root FROM {records}
                  WHERE {token} IS NOT NULL AND {sex} IS NULL GROUP BY {token}) w USING ({token})""")
    if event:
        # Rule (4): a record without date of birth (no skeleton token) joins the records of its event token
        # when those that have a date of birth agree on one skeleton token (else it is ambiguous).
        parts.append(f"""
            SELECT r.id, coalesce(g.dob_root, g.any_root) FROM {records} r
            JOIN (SELECT event_token, count(DISTINCT skeleton_token) AS people,
                         min(id) FILTER (WHERE skeleton_token IS NOT NULL) AS dob_root, min(id) AS any_root
                  FROM {records} WHERE event_token IS NOT NULL GROUP BY event_token) g USING (event_token)
            WHERE r.skeleton_token IS NULL AND r.event_token IS NOT NULL AND g.people <= 1""")
        if ambiguous is not None:
            parts[-1] += f" AND r.event_token NOT IN (SELECT event_token FROM {ambiguous})"
    return "\nUNION ALL\n".join(parts)


def link_records(con: duckdb.DuckDBPyConnection, records_sql: str, ambiguous_events: str | None = None) -> pa.Table:
    """Cluster the records of `records_sql` into persons by LINKAGE_RULE; Arrow (record_key, person_key).

    `records_sql` is a SELECT with columns record_key (unique), document_token, name_dob_token,
    skeleton_token and sex, and optionally event_token (rule 4 applies only when it is there). Other columns
    (birth_year, ...) are allowed and ignored: the date of birth is already inside the name tokens.
    person_key is the smallest record_key of the person's records, so it is stable as long as that record
    stays. Temporary tables with unique names are created on `con` and dropped again. `ambiguous_events` is
    for linking a subset of a larger record set (privacy/incremental.py): a table of the event tokens that
    are ambiguous in the whole set (rule (4) counts the people of an event over every record).
    """
    tag = uuid.uuid4().hex[:12]
    rec, edge, label, nxt = (f"_link_{name}_{tag}" for name in ("records", "edges", "labels", "next"))
    try:
        columns = [d[0] for d in con.execute(f"SELECT * FROM ({records_sql}) LIMIT 0").description]
        event = "event_token" in columns
        tokens = ", ".join([token for token, _ in RULES] + (["event_token"] if event else []))
        con.execute(f"""
            CREATE TEMP TABLE {rec} AS
            SELECT (row_number() OVER (ORDER BY record_key))::BIGINT AS id, record_key, {tokens},
                   sex::VARCHAR AS sex
            FROM ({records_sql})
        """)
        dupes = _scalar(con, f"SELECT count(*) - count(DISTINCT record_key) FROM {rec}")
        if dupes:
            raise ValueError(f"record_key is not unique: {dupes} duplicate(s)")
        con.execute(f"""
            CREATE TEMP TABLE {edge} AS
            WITH star AS MATERIALIZED (
                SELECT DISTINCT id, root FROM ({_edges_sql(rec, RULES, event, ambiguous_events)}) WHERE id <> root
            )
            SELECT id AS a, root AS b FROM star UNION SELECT root AS a, id AS b FROM star
        """)
        # Every record starts with the smallest id among itself and its neighbours.
        con.execute(f"""
            CREATE TEMP TABLE {label} AS
            SELECT r.id, least(r.id, coalesce(min(e.b), r.id)) AS label
            FROM {rec} r LEFT JOIN {edge} e ON e.a = r.id GROUP BY r.id
        """)
        for _ in range(MAX_ITERATIONS):
            # One step of propagation (smallest label among neighbours), then pointer jumping (label of
            # the label), which halves the remaining distance to the component's smallest id.
            con.execute(f"""
                CREATE TEMP TABLE {nxt} AS
                WITH step AS (
                    SELECT l.id, least(l.label, coalesce(min(n.label), l.label)) AS label
                    FROM {label} l
                    LEFT JOIN {edge} e ON e.a = l.id
                    LEFT JOIN {label} n ON n.id = e.b
                    GROUP BY l.id, l.label
                )
                SELECT s.id, least(s.label, j.label) AS label
                FROM step s JOIN step j ON j.id = s.label
            """)
            changed = _scalar(con, f"SELECT count(*) FROM {nxt} n JOIN {label} l USING (id) WHERE n.label <> l.label")
            con.execute(f"DROP TABLE {label}")
            con.execute(f"ALTER TABLE {nxt} RENAME TO {label}")
            if not changed:
                break
        else:
            raise RuntimeError(f"linkage did not converge in {MAX_ITERATIONS} iterations")
        return con.execute(f"""
            SELECT r.record_key, p.record_key AS person_key
            FROM {rec} r JOIN {label} l USING (id) JOIN {rec} p ON p.id = l.label
            ORDER BY r.id
        """).to_arrow_table()
    finally:
        for table in (rec, edge, label, nxt):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The one value of an aggregate query (which always gives one row)."""
    row = con.execute(sql).fetchone()
    assert row is not None, "an aggregate gives one row"
    return row[0]
