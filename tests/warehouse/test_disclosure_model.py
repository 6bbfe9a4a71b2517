"""The research database against the attack issue 17 describes: the model covers every published count,
the table-by-table method leaks, the joint one recovers nothing, and the bureau's audit command says so."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from privacy.audit import audit, summary
from privacy.keys import load_keyring
from synthetic.generator import generate
from tests.conftest import installation_after_run
from warehouse.protection import RECORD_FILE, read_published, read_record, true_tables
from warehouse.published import COUNT_TABLES, DERIVED, NOT_COUNTS, build_model
from warehouse.research import RESEARCH_FILE
from warehouse.tablewise import tablewise

K = 5
INTEGERS = ("INTEGER", "BIGINT", "HUGEINT", "SMALLINT")
# (providers, rows per feed, seed) of further generated installations
SIZES = [(2, 600, 3), (3, 1200, 5), (5, 1500, 2)]


@pytest.fixture(scope="module")
def installation(tmp_path_factory, sample_dir):
    with installation_after_run(tmp_path_factory.mktemp("disclosure") / "home", sample_dir) as home:
        yield home


def _state(home):
    key = load_keyring(home.keys).key("database")
    with duckdb.connect(str(home.warehouse / RESEARCH_FILE), read_only=True) as con:
        published = read_published(con)
    return published, read_record(home.warehouse / RECORD_FILE, key)


def _adding_up(model, hidden: np.ndarray) -> int:
    """The attack without a solver: a relation (equality) with exactly one withheld cell gives it away."""
    A, found = model.system.A.tocsr(), set()
    for r in range(A.shape[0]):
        cols = A.indices[A.indptr[r] : A.indptr[r + 1]]
        if model.system.lo[r] == model.system.hi[r] and hidden[cols].sum() == 1:
            found.add(int(cols[hidden[cols]][0]))
    return len(found)


def test_every_published_count_table_is_in_the_model(installation):
    with duckdb.connect(str(installation.warehouse / RESEARCH_FILE), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert tables - NOT_COUNTS <= set(COUNT_TABLES), "a published table is missing from warehouse/published.py"
        for table in tables - NOT_COUNTS:
            keys, counts = COUNT_TABLES[table]
            ints = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND data_type IN ?",
                    [table, list(INTEGERS)],
                ).fetchall()
            }
            assert ints <= {*keys, *counts, *DERIVED.get(table, ())}, f"{table}: an integer column not in the model"


def test_public_tables_say_only_suppressed_and_no_side_column_bounds_a_withheld_count(installation):
    published, record = _state(installation)
    assert len(record) and set(record["reason"]) == {"primary", "secondary"}
    for table, frame in published.items():
        assert "suppression" not in frame.columns, table
    sex = published["victims_by_year_sex"]
    assert sex["suppressed"].any()
    assert sex.loc[sex["suppressed"], ["victim_records", "providers"]].isna().all().all()
    assert (published["indicators"]["value"] == 0).any(), "zeros are published, so a withheld cell may be 0"


def test_the_attack_recovers_cells_from_the_table_by_table_method_and_none_after(installation):
    published, record = _state(installation)
    raw = true_tables(published, record)
    model = build_model(raw, K)
    old, seen = tablewise(raw, model, K)
    before = summary(audit(seen, old, model.primary & old, K), len(model.system))
    # today's method on the same data: no relation has one withheld cell, yet combining them with the
    # labels and the other tables' totals works cells out exactly
    assert _adding_up(model, old) == 0 and before["recovered_exactly"] > 0
    assert before["under_protected"] == before["primary"]  # every label 'primary' says 1 to 4
    hidden = published_hidden(model, record)
    after = summary(audit(model.system, hidden, model.primary, K), len(model.system))
    assert after["recovered_exactly"] == 0 and after["under_protected"] == 0
    assert _adding_up(model, hidden) == 0
    print(f"table-by-table: {before}; joint: {after}")


def test_the_joint_method_withholds_no_more_distinct_cells_than_the_table_by_table_one(installation):
    published, record = _state(installation)
    model = build_model(true_tables(published, record), K)
    old, _ = tablewise(true_tables(published, record), model, K)
    hidden = published_hidden(model, record)
    copies = np.zeros(len(model.system), dtype=bool)
    copies[[c for c, _ in model.ties]] = True  # a cell and its copies (and side columns) count once
    assert model.primary.sum() > 0 and (old & ~model.primary).any(), "no secondary cell: the test shows nothing"
    assert (hidden & ~copies).sum() <= (old & ~copies).sum()


def published_hidden(model, record) -> np.ndarray:
    withheld = set(record["cell"])
    return np.array(["|".join(n) in withheld for n in model.system.names])


def test_the_audit_command_passes_and_fails_when_a_small_count_is_published(installation, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["disclosure", "audit", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["summary"]["recovered_exactly"] == 0 and report["summary"]["under_protected"] == 0
    assert all(c["high"] is None or c["high"] > c["low"] for c in report["cells"])
    # a build that publishes the secondary cells (as if only counts under k were withheld) must fail
    _, record = _state(installation)
    secondary = [
        c.split("|") for c in record.loc[record["reason"] == "secondary", "cell"] if c.startswith("indicators|")
    ]
    values = record.set_index("cell")["value"]
    assert secondary, "the sample has secondary cells in indicators"
    db = installation.warehouse / RESEARCH_FILE
    backup = tmp_path / "research.duckdb"
    backup.write_bytes(db.read_bytes())
    try:
        with duckdb.connect(str(db)) as con:
            for c in secondary:
                con.execute(
                    "UPDATE indicators SET value = ?, suppressed = false "
                    "WHERE indicator = ? AND period = ? AND dimension = ? AND category = ?",
                    [int(values["|".join(c)]), c[2], int(c[3]), c[4], c[5]],
                )
        result = runner.invoke(app, ["disclosure", "audit"])
        assert result.exit_code == 1
        assert "under-protected: 0" not in result.output and "do not publish" in result.output
    finally:
        db.write_bytes(backup.read_bytes())


def test_the_audit_command_without_a_record_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPPORTEUR_HOME", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["disclosure", "audit"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize(("providers", "rows", "seed"), SIZES)
def test_generated_installations_pass_the_audit(tmp_path, providers, rows, seed):
    generate(tmp_path / "sample", rows=rows, providers=providers, seed=seed)
    with installation_after_run(tmp_path / "home", tmp_path / "sample") as home:
        published, record = _state(home)
        model = build_model(true_tables(published, record), K)
        found = summary(audit(model.system, published_hidden(model, record), model.primary, K), len(model.system))
        assert found["primary"] > 0, "no small cell: the test shows nothing"
        assert found["recovered_exactly"] == 0 and found["under_protected"] == 0


def test_a_build_that_fails_the_audit_publishes_nothing_new(installation, monkeypatch):
    import warehouse.protection as protection
    from errors import DisclosureError
    from privacy.secondary import Protection
    from warehouse.research import build_research_database

    def primary_only(system, primary, *args, **kwargs):  # counts under k withheld, nothing else
        return Protection(np.asarray(primary, dtype=bool), 1, 0, 0.0)

    monkeypatch.setattr(protection, "protect", primary_only)
    db, record = installation.warehouse / RESEARCH_FILE, installation.warehouse / RECORD_FILE
    before = (db.read_bytes(), record.read_bytes())
    key = load_keyring(installation.keys).key("database")
    with pytest.raises(DisclosureError, match="nothing published"):
        build_research_database(installation.warehouse, key, K)
    assert (db.read_bytes(), record.read_bytes()) == before
