"""The access log: who opened what and why, through the commands users run; tampering is detected."""

from __future__ import annotations

import csv
import json

import pytest

from privacy import access_log
from tests.cli.test_cli import _one_line_error, _run
from tests.conftest import sample_files

KEY = bytes(range(32))


@pytest.fixture
def log(tmp_path):
    access_log.bind(tmp_path / "audit", KEY)
    access_log.act_as("cli", "test")
    for target in ("keyring", "victims.duckdb", "escrow_victims.duckdb", "linkage.duckdb"):
        access_log.record("open", target)
    yield tmp_path / "audit" / access_log.LOG_FILE
    access_log.unbind()


def _lines(path):
    return path.read_text().splitlines()


def test_an_untouched_log_verifies(log):
    assert access_log.verify(log, KEY) == [] and len(access_log.entries(log)) == 4


@pytest.mark.parametrize(
    "tamper",
    [
        lambda lines: [lines[0], lines[1].replace("victims", "nothing"), *lines[2:]],  # an entry changed
        lambda lines: [lines[0], *lines[2:]],  # an entry in the middle deleted
        lambda lines: lines[:-1],  # the last entry cut off
        lambda lines: [lines[1], lines[0], *lines[2:]],  # two entries swapped
        lambda lines: [*lines, lines[-1]],  # an entry repeated
        lambda lines: [lines[0], "{}", *lines[1:]],  # an entry inserted
    ],
)
def test_any_change_to_the_log_is_detected(log, tamper):
    log.write_text("\n".join(tamper(_lines(log))) + "\n")
    assert access_log.verify(log, KEY)


def test_a_forged_entry_needs_the_key(log):
    entries = access_log.entries(log)
    forged = dict(entries[1], who="someone-else")
    forged["mac"] = access_log._mac(b"\x01" * 32, entries[0]["mac"], forged)
    log.write_text("\n".join([json.dumps(entries[0]), json.dumps(forged), *_lines(log)[2:]]) + "\n")
    assert access_log.verify(log, KEY)


def test_commands_record_who_opened_what_and_why_and_never_a_person(home, sample_dir):
    path, feed, provider = next(p for p in sample_files(sample_dir) if p[1] == "victim-assistance")
    assert _run("ingest", "--feed", feed, "--provider", provider, path).exit_code in (0, 1)
    line = _one_line_error(_run("sql", "--db", "victims", "-c", "SELECT 1"))
    assert "--purpose" in line
    asked = _run("sql", "--db", "victims", "--purpose", "checking a provider's counts", "-c", "SELECT 1")
    assert asked.exit_code == 0, asked.output
    result = _run("audit", "--json", "--last", "0")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)["entries"]
    seen = {(e["via"], e["command"], e["action"], e["target"]) for e in entries}
    assert ("cli", "ingest", "open", "keyring") in seen
    assert ("cli", "ingest", "open", "victims.duckdb") in seen
    assert ("cli", "ingest", "open", "victims_escrow.duckdb") in seen
    sql = [e for e in entries if e["via"] == "sql" and e["target"] == "victims.duckdb"]
    assert sql and sql[0]["purpose"] == "checking a provider's counts" and sql[0]["action"] == "open read-only"
    assert all(e["who"] for e in entries)
    text = (home.audit / access_log.LOG_FILE).read_text()
    with path.open(newline="", encoding="utf-8") as f:
        for row in list(csv.DictReader(f))[:200]:
            for col in ("given_name", "family_name", "document_number", "provider_record_id"):
                if len(row[col]) >= 5:
                    assert row[col] not in text, col

    log = home.audit / access_log.LOG_FILE
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    broken = _run("audit")
    assert broken.exit_code == 1 and "does not follow the chain" in broken.stderr


def test_a_dagster_run_is_recorded_as_the_run(home, sample_dir):
    from tests.conftest import installation_after_run

    with installation_after_run(home.root, sample_dir):
        entries = access_log.entries(home.audit / access_log.LOG_FILE)
    runs = {e["command"] for e in entries if e["via"] == "dagster"}
    assert any(c.startswith("victim_assistance_ingest run ") for c in runs)
    assert any(
        c.startswith("analysis run ") and e["target"] == "linkage.duckdb" for e in entries for c in [e["command"]]
    )
