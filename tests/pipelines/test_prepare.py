"""Pseudonymising on the provider's machine: the output identifies no one and loads like a raw extract."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from application.steps import start_prepared
from privacy.keys import Keyring, issue_provider_keys
from sources.reader import open_prepared
from tests.cli.test_cli import _one_line_error, _run
from tests.conftest import sample_files
from warehouse.repository import connect, repository_path

VA = "victim-assistance"


def _sample(sample_dir):
    return next((p, prov) for p, feed, prov in sample_files(sample_dir) if feed == VA)


def test_prepared_extract_holds_no_identifier(home, sample_dir, tmp_path):
    path, provider = _sample(sample_dir)
    keyring, _ = home.keyring(create_demo=True)
    issue_provider_keys(keyring, tmp_path / "key.json")
    out = tmp_path / "prepared.parquet"
    result = _run("prepare", "--feed", VA, "--key-file", tmp_path / "key.json", "--out", out, path)
    assert result.exit_code == 1 and "left out" in result.stdout  # the sample plants invalid rows
    data = out.read_bytes()
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows[:300]:
        for col in ("given_name", "family_name", "document_number", "phone", "address", "date_of_birth"):
            if len(row[col]) >= 6:
                assert row[col].encode() not in data, col
    table = pq.read_table(out)
    assert not {"given_name", "family_name", "date_of_birth", "document_number", "phone", "address"} & set(
        table.column_names
    )
    assert "identification_date" not in table.column_names and "identification_month" in table.column_names


def test_prepared_and_raw_extracts_are_stored_alike(home, sample_dir, tmp_path):
    path, provider = _sample(sample_dir)
    keyring, _ = home.keyring(create_demo=True)
    issue_provider_keys(keyring, tmp_path / "key.json")
    out = tmp_path / "prepared.parquet"
    _run("prepare", "--feed", VA, "--key-file", tmp_path / "key.json", "--out", out, path)
    raw = json.loads(_run("ingest", "--feed", VA, "--provider", provider, "--json", path).stdout)
    result = _run("ingest", "--feed", VA, "--provider", provider, "--json", out)
    assert result.exit_code in (0, 1), result.output
    prepared = json.loads(result.stdout)
    assert prepared["status"] == "loaded" and prepared["rows_loaded"] == raw["rows_loaded"]
    columns = "record_token, document_token, name_dob_token, skeleton_token, event_token, birth_year, region, sex"
    with connect(repository_path(home.warehouse, VA), read_only=True, key=keyring.key("database")) as con:
        by_submission = [
            sorted(con.execute(f"SELECT {columns} FROM victim_assistance WHERE submission_id = ?", [sid]).fetchall())
            for sid in (raw["submission_id"], prepared["submission_id"])
        ]
    assert by_submission[0] == by_submission[1]


def test_prepared_with_a_foreign_key_is_refused(home, sample_dir, tmp_path):
    path, provider = _sample(sample_dir)
    home.keyring(create_demo=True)
    foreign = Keyring({1: bytes(32)}, 1, False, b"\x05" * 32)
    issue_provider_keys(foreign, tmp_path / "foreign.json")
    out = tmp_path / "prepared.parquet"
    _run("prepare", "--feed", VA, "--key-file", tmp_path / "foreign.json", "--out", out, path)
    line = _one_line_error(_run("ingest", "--feed", VA, "--provider", provider, out))
    assert "prepared with a key the bureau does not hold" in line


def test_a_damaged_key_file_is_a_clear_error(home, sample_dir, tmp_path):
    path, _ = _sample(sample_dir)
    (tmp_path / "key.json").write_text("{}")
    line = _one_line_error(
        _run("prepare", "--feed", VA, "--key-file", tmp_path / "key.json", "--out", tmp_path / "x.parquet", path)
    )
    assert "not a key file issued by the bureau" in line
    assert (tmp_path / "key.json").exists() and not (tmp_path / "x.parquet").exists()


def _prepared(home, sample_dir, tmp_path) -> Path:
    path, provider = _sample(sample_dir)
    home.keyring(create_demo=True)
    out = tmp_path / "prepared.parquet"
    _run("prepare", "--feed", VA, "--provider", provider, "--out", out, path)
    return out


def _checked(path: Path, batch_rows: int) -> tuple[int, list, list, pd.DataFrame]:
    parquet, _ = open_prepared(path)
    validator, batches = start_prepared(parquet, VA, "ngo-harbour", "prepared.parquet", batch_rows=batch_rows)
    valid = [row for batch in batches for row in batch["row_number"].to_pylist()]
    result = validator.result()
    return result.rows_in, valid, sorted(result.failures.to_pylist(), key=str), result.frame


def test_a_prepared_extract_is_checked_batch_by_batch_as_one_file(home, sample_dir, tmp_path):
    out = _prepared(home, sample_dir, tmp_path)
    table = pq.read_table(out)
    ids = table["provider_record_id"].to_pylist()
    ids[-1] = ids[0]  # the last row repeats the first row's id: a duplicate across batches
    at = table.schema.get_field_index("provider_record_id")
    pq.write_table(table.set_column(at, "provider_record_id", pa.array(ids, pa.string())), out)
    whole, batched = _checked(out, 1_000_000), _checked(out, 7)
    assert whole[:3] == batched[:3]
    assert whole[3].equals(batched[3])
    last = table["row_number"][-1].as_py()
    assert {"row_number": last, "column_name": "provider_record_id", "rule": "duplicate_record_id"}.items() <= next(
        f for f in batched[2] if f["row_number"] == last
    ).items()
    assert last not in batched[1] and len(batched[1]) == table.num_rows - 1


def test_a_prepared_extract_without_rows_loads_nothing(home, sample_dir, tmp_path):
    out = _prepared(home, sample_dir, tmp_path)
    table = pq.read_table(out)
    pq.write_table(table.slice(0, 0), out)
    result = _run("ingest", "--feed", VA, "--provider", _sample(sample_dir)[1], "--json", out)
    assert result.exit_code == 0, result.stdout
    outcome = json.loads(result.stdout)
    assert (outcome["status"], outcome["rows_in"], outcome["rows_loaded"]) == ("loaded", 0, 0)


LE = "law-enforcement"


def _stored_years(home, feed: str, submission_id: str) -> set[int]:
    keyring, _ = home.keyring()
    table = feed.replace("-", "_")
    with connect(repository_path(home.warehouse, feed), read_only=True, key=keyring.key("database")) as con:
        rows = con.execute(f"SELECT DISTINCT reporting_year FROM {table} WHERE submission_id = ?", [submission_id])
        return {r[0] for r in rows.fetchall()}


def _ingested(feed: str, provider: str, period: str, path: Path) -> dict:
    result = _run("ingest", "--feed", feed, "--provider", provider, "--period", period, "--json", path)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def _busiest_year(path: Path, feed: str) -> int:
    """The year with most rows of a sample extract, by the date that places a row in a period."""
    frame = pd.read_csv(path, dtype=str)
    columns = ["identification_date"] if feed == VA else ["conviction_date", "prosecution_date", "investigation_date"]
    dates = frame[columns].bfill(axis=1).iloc[:, 0]
    return int(pd.to_datetime(dates, errors="coerce", dayfirst=False, format="mixed").dt.year.mode()[0])


def test_a_prepared_extract_loads_only_its_submissions_period_as_a_raw_one_does(home, sample_dir, tmp_path):
    """The period rule is the same for every format: a file prepared for every period and submitted for one
    year (or quarter) loads that year's rows and quarantines the others, exactly as its CSV does."""
    home.keyring(create_demo=True)
    for path, feed, provider in sample_files(sample_dir):
        if feed != LE and feed != VA:
            continue
        out = tmp_path / f"{feed}.parquet"
        _run("prepare", "--feed", feed, "--provider", provider, "--out", out, path)
        year = _busiest_year(path, feed)
        for period in (str(year), f"{year}-Q2"):
            raw = _ingested(feed, provider, period, path)
            prepared = _ingested(feed, provider, period, out)
            assert prepared["status"] == "loaded", prepared
            assert 0 < prepared["rows_loaded"] == raw["rows_loaded"] < prepared["rows_in"], (period, raw, prepared)
            assert _stored_years(home, feed, prepared["submission_id"]) == {year}
        whole = _ingested(feed, provider, "all", out)
        assert whole["rows_loaded"] == whole["rows_in"] > prepared["rows_in"] - prepared["rows_quarantined"]


def test_a_prepared_extract_submitted_for_another_period_is_refused_with_one_line(home, sample_dir, tmp_path):
    path, provider = _sample(sample_dir)
    home.keyring(create_demo=True)
    out = tmp_path / "prepared.parquet"
    year = _busiest_year(path, VA)
    _run("prepare", "--feed", VA, "--provider", provider, "--period", year, "--out", out, path)
    line = _one_line_error(_run("ingest", "--feed", VA, "--provider", provider, "--period", year - 1, out))
    assert f"prepared for period {year} but submitted for {year - 1}" in line
    line = _one_line_error(_run("ingest", "--feed", VA, "--provider", provider, out))
    assert f"prepared for period {year} but submitted for all" in line
    loaded = _ingested(VA, provider, str(year), out)
    assert loaded["rows_quarantined"] == 0 and _stored_years(home, VA, loaded["submission_id"]) == {year}
