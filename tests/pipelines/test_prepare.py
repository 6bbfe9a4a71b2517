"""Pseudonymising on the provider's machine: the output identifies no one and loads like a raw extract."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq

from privacy.keys import Keyring, issue_provider_keys
from tests.conftest import sample_files
from tests.pipelines.test_cli import _one_line_error, _run
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
    prepared = json.loads(_run("ingest", "--feed", VA, "--provider", provider, "--json", out).stdout)
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
