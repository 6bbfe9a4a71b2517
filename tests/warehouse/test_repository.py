"""Loads are one transaction; resubmissions supersede; the research database is swapped in whole."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from schemas.validation import FAILURE_SCHEMA, stored_failures
from tests.privacy.test_pseudonymise import _pseudonymised
from tests.privacy.test_sealed import peak_rss_growth
from tests.schemas.test_validation import GOOD
from warehouse.repository import connect, load_submission, repository_counts, repository_path
from warehouse.research import build_research_database

NO_FAILURES = stored_failures(FAILURE_SCHEMA.empty_table())
KEY = b"\x07" * 32


def _rows(n: int) -> pa.Table:
    return _pseudonymised(
        "victim-assistance", [GOOD["victim-assistance"] | {"provider_record_id": f"r{i}"} for i in range(n)]
    )


def _load(warehouse, sid, rows, failures=NO_FAILURES, rows_in=None, period="2020"):
    quarantined = len(set(failures.column("row_number").to_pylist()))
    return load_submission(
        warehouse,
        submission_id=sid,
        feed="victim-assistance",
        provider="ngo-x",
        period=period,
        content_sha256=sid * 4,
        received_at=None,
        rows=lambda: rows.to_batches(max_chunksize=3),
        counted=lambda: (rows.num_rows + quarantined if rows_in is None else rows_in, failures),
        key_version=1,
        codelist_version="test",
        db_key=KEY,
        escrow_key=KEY,
    )


def _query(warehouse, sql):
    with connect(repository_path(warehouse, "victim-assistance"), read_only=True, key=KEY) as con:
        return con.execute(sql).fetchall()


def test_load_is_idempotent_per_submission(tmp_path):
    _load(tmp_path, "s1", _rows(3))
    _load(tmp_path, "s1", _rows(3))
    assert _query(tmp_path, "SELECT count(*) FROM victim_assistance") == [(3,)]
    assert repository_counts(tmp_path, "victim-assistance", KEY) == {
        "submissions": 1,
        "rows_loaded": 3,
        "rows_quarantined": 0,
    }


def test_resubmission_supersedes_and_keeps_history(tmp_path):
    _load(tmp_path, "s1", _rows(3))
    result = _load(tmp_path, "s2", _rows(2))
    assert result.superseded == ["s1"]
    assert _query(tmp_path, "SELECT count(*) FROM current_victim_assistance") == [(2,)]
    assert _query(tmp_path, "SELECT count(*) FROM victim_assistance") == [(5,)]
    assert _query(tmp_path, "SELECT submission_id, superseded_by FROM submissions ORDER BY 1") == [
        ("s1", "s2"),
        ("s2", None),
    ]
    _load(tmp_path, "s3", _rows(1), period="2021")  # another period supersedes nothing
    assert _query(tmp_path, "SELECT count(*) FROM current_victim_assistance") == [(3,)]


def test_failed_load_leaves_the_previous_state(tmp_path):
    _load(tmp_path, "s1", _rows(3))
    broken = _rows(2).set_column(0, "row_number", pa.array([None, None], pa.int64()))  # NOT NULL violated
    with pytest.raises(duckdb.ConstraintException):
        _load(tmp_path, "s1", broken)
    assert _query(tmp_path, "SELECT count(*) FROM victim_assistance") == [(3,)]
    assert _query(tmp_path, "SELECT rows_loaded FROM submissions") == [(3,)]


def test_counts_must_reconcile(tmp_path):
    with pytest.raises(AssertionError, match="rows in"):
        _load(tmp_path, "s1", _rows(2), rows_in=5)
    assert repository_counts(tmp_path, "victim-assistance", KEY)["submissions"] == 0


def test_quarantine_rows_are_kept_without_values(tmp_path):
    failures = pa.table(
        {
            "row_number": [4, 4, 5],
            "column_name": ["sex", "citizenship", "sex"],
            "rule": ["unmapped_code"] * 3,
            "message": ["m"] * 3,
        }
    )
    result = _load(tmp_path, "s1", _rows(3), failures=failures)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (5, 3, 2)
    assert _query(tmp_path, "SELECT count(*) FROM quarantine WHERE submission_id = 's1'") == [(3,)]


def test_research_database_is_rebuilt_whole(tmp_path):
    _load(tmp_path, "s1", _rows(3))
    first = build_research_database(tmp_path, KEY, k=2)
    assert first["victims_by_year_sex"] == 1
    reader = duckdb.connect(str(tmp_path / "research.duckdb"), read_only=True)  # a researcher's open session
    _load(tmp_path, "s2", _rows(4), period="2021")
    build_research_database(tmp_path, KEY, k=2)
    assert reader.execute("SELECT sum(victim_records) FROM victims_by_year_sex").fetchone() == (3,)
    reader.close()
    con = duckdb.connect(str(tmp_path / "research.duckdb"), read_only=True)
    assert con.execute("SELECT sum(victim_records) FROM victims_by_year_sex").fetchone() == (7,)
    columns = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns()").fetchall()]
    assert not [c for c in columns if c.endswith("_token")]
    con.close()


def test_a_repository_of_another_layout_is_refused(tmp_path):
    from errors import RapporteurError
    from warehouse.repository import ensure_repository

    path = ensure_repository(tmp_path, "victim-assistance", KEY)
    with connect(path, key=KEY) as con:
        con.execute("UPDATE repository_meta SET schema_version = 1")
    with pytest.raises(RapporteurError, match="layout version 1"):
        ensure_repository(tmp_path, "victim-assistance", KEY)


def test_repositories_are_encrypted_and_need_the_key(tmp_path):
    from errors import KeyringError

    _load(tmp_path, "s1", _rows(3))
    path = repository_path(tmp_path, "victim-assistance")
    data = path.read_bytes()
    assert b"ngo-x" not in data and b"forced_labour" not in data and b"sexual" not in data
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(path), read_only=True)
    with pytest.raises(KeyringError, match="does not open"), connect(path, read_only=True, key=b"\x08" * 32):
        pass


def test_a_connection_that_has_spilled_still_attaches_another_encrypted_file(tmp_path):
    from warehouse.duck import encrypted

    _load(tmp_path, "s1", _rows(3))
    con = encrypted(repository_path(tmp_path, "victim-assistance"), KEY, alias="va", read_only=True)
    con.execute(f"SET temp_directory = '{tmp_path / 'spill'}'")
    con.execute("SET memory_limit = '100MB'")
    con.execute("CREATE TEMP TABLE big AS SELECT range::VARCHAR || repeat('x', 50) AS a FROM range(3000000)")
    con.execute("CREATE TEMP TABLE sorted AS SELECT * FROM big ORDER BY a DESC")
    assert any((tmp_path / "spill").iterdir()), "the query did not spill: the test shows nothing"
    encrypted(repository_path(tmp_path, "victim-assistance"), KEY, alias="again", read_only=True, con=con)
    assert con.execute("SELECT count(*) FROM again.victim_assistance").fetchone() == (3,)
    con.close()


def test_research_cells_under_k_are_suppressed_and_marked(tmp_path):
    _load(tmp_path, "s1", _rows(3))
    build_research_database(tmp_path, KEY)  # k = 5: the one cell of 3 must go
    con = duckdb.connect(str(tmp_path / "research.duckdb"), read_only=True)
    # the public table says only that the cell is withheld (and its providers with it); why is the bureau's
    assert con.execute("SELECT victim_records, providers, suppressed FROM victims_by_year_sex").fetchall() == [
        (None, None, True)
    ]
    assert "suppression" not in [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns()").fetchall()]
    # the year's total is withheld, so is every copy of it and what is computed from it
    assert con.execute("SELECT observed, estimate FROM hidden_population").fetchall() in ([], [(None, None)])
    assert con.execute("SELECT count(*) FROM data_quality WHERE unique_victims IS NOT NULL").fetchone() == (0,)
    con.close()


def test_baselines_use_only_published_values():
    import pandas as pd

    from warehouse.research import _with_baselines

    frame = pd.DataFrame(
        {
            "indicator": ["x"] * 3,
            "dimension": ["d"] * 3,
            "category": ["c"] * 3,
            "period": [2015, 2016, 2017],
            "value": pd.array([10, None, 30], dtype="Int64"),
            "suppressed": [False, True, False],
            "suppression": ["", "primary", ""],
        }
    )
    out = _with_baselines(frame, baseline=2016).set_index("period")
    assert out["baseline_value"].isna().all() and out["change_abs"].isna().all()  # the baseline cell is withheld
    out = _with_baselines(frame, baseline=None).set_index("period")
    assert out.loc[2017, "change_abs"] == 20 and out.loc[2017, "change_pct"] == 200.0
    assert pd.isna(out.loc[2017, "trend"])  # its previous period is withheld


LOAD_300_BATCHES = """
import pyarrow as pa
from pathlib import Path
from tests.warehouse.test_repository import KEY, NO_FAILURES, _rows
from warehouse.repository import load_submission

def work(folder):
    template = _rows(50)
    at = pa.array([i % 50 for i in range(2000)])
    def batches():  # 300 batches of 2,000 rows, each in buffers of its own (as read from the staged file)
        for _ in range(300):
            yield template.take(at).combine_chunks()
    load_submission(
        Path(folder), submission_id="s1", feed="victim-assistance", provider="ngo-x", period="2020",
        content_sha256="s1" * 32, received_at=None, rows=batches, counted=lambda: (600_000, NO_FAILURES),
        key_version=1, codelist_version="test", db_key=KEY, escrow_key=KEY,
    )
"""


def test_a_load_holds_a_few_batches_in_memory_not_the_submission(tmp_path):
    """600,000 rows (about 470 MB as Arrow) go through the two passes without being held until COMMIT."""
    growth = peak_rss_growth(LOAD_300_BATCHES, str(tmp_path))
    assert _query(tmp_path, "SELECT count(*) FROM victim_assistance") == [(600_000,)]
    assert growth < 300 << 20, f"peak RSS grew by {growth >> 20} MiB loading 300 batches"
