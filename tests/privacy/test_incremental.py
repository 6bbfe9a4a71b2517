"""Incremental linkage gives exactly the persons of a full relink, after any sequence of loads and supersessions."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy.incremental import RECORD_COLUMNS, STORED, apply_change, relink_change, stored_links_ddl
from privacy.linkage import link_records

# Few distinct tokens, so that records of different submissions agree often, bridge persons and make events
# ambiguous.
_token = st.one_of(st.none(), st.sampled_from(["t1", "t2", "t3", "t4", "t5"]))
_record = st.tuples(_token, _token, _token, _token, st.sampled_from(["female", "male", "unknown"]))
_submission = st.lists(_record, min_size=0, max_size=6)
# A step loads submission i, or supersedes (removes) it when it is loaded.
_steps = st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=8)


def _rows(sid: str, records: list[tuple]) -> list[dict]:
    return [
        dict(zip(["record_key", "submission_id", "row_number", *STORED[4:]], [f"{sid}|{n}", sid, n, *r], strict=True))
        for n, r in enumerate(records)
    ]


def _full(rows: list[dict]) -> dict[str, str]:
    if not rows:
        return {}
    con = duckdb.connect()
    con.register("records", pa.Table.from_pylist(rows, schema=_schema()))
    out = link_records(con, "SELECT * FROM records")
    return dict(zip(out["record_key"].to_pylist(), out["person_key"].to_pylist(), strict=True))


def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT record_key, person_key FROM ls.links").fetchall())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_submission, min_size=5, max_size=5), _steps)
def test_incremental_equals_full_relink(submissions, steps):
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS ls")
    con.execute(stored_links_ddl("ls.links"))
    loaded: dict[str, list[dict]] = {}
    for i, remove in steps:
        sid = f"s{i}"
        if remove and sid in loaded:
            affected, replacement = relink_change(con, "ls.links", None, [sid])
            del loaded[sid]
        elif not remove and sid not in loaded:
            loaded[sid] = _rows(sid, submissions[i])
            con.register("new", pa.Table.from_pylist(loaded[sid], schema=_schema()))
            affected, replacement = relink_change(con, "ls.links", f"SELECT {RECORD_COLUMNS} FROM new", [])
            con.unregister("new")
        else:
            continue
        con.execute("BEGIN")
        apply_change(con, "ls.links", affected, replacement)
        con.execute("COMMIT")
        assert _stored(con) == _full([r for rows in loaded.values() for r in rows])


def _schema() -> pa.Schema:
    return pa.schema(
        [("record_key", pa.string()), ("submission_id", pa.string()), ("row_number", pa.int64())]
        + [(c, pa.string()) for c in STORED[4:]]
    )


def test_an_event_ambiguous_only_outside_the_affected_persons_still_blocks_rule_4():
    """b and a share skeleton and event but not sex; q makes the event ambiguous but is not relinked."""
    first = [
        (None, None, "s1", "e", "male"),  # b
        ("d1", None, "s1", "e", "female"),  # a
        ("d1", None, None, "e", "female"),  # r: a's person by its document; by the event it would join b
        (None, None, "s2", "e", "female"),  # q: another skeleton under the same event
    ]
    added = [(None, None, "s1", None, "male")]  # joins b, and touches a through s1, never q
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS ls")
    con.execute(stored_links_ddl("ls.links"))
    rows = []
    for sid, records in (("s0", first), ("s1", added)):
        rows += _rows(sid, records)
        con.register("new", pa.Table.from_pylist(_rows(sid, records), schema=_schema()))
        affected, replacement = relink_change(con, "ls.links", f"SELECT {RECORD_COLUMNS} FROM new", [])
        con.execute("BEGIN")
        apply_change(con, "ls.links", affected, replacement)
        con.execute("COMMIT")
    assert _stored(con) == _full(rows)
    assert _stored(con)["s0|2"] != _stored(con)["s0|0"]
