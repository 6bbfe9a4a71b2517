"""Every bad or hostile input of the table through `rapporteur validate` and `rapporteur ingest`: exact outcomes."""

from __future__ import annotations

import csv
import json
import logging
import re

import pytest

from application.home import Home
from sources.spreadsheet import FORMULA_PREFIXES
from tests.robustness.conftest import case_submission_id, cli, one_line_error
from tests.robustness.faults import held
from tests.robustness.inputs import CANARY, CASES, FORMULAS, PROVIDER, SQL_INJECTION, VA

BY_NAME = {c.name: c for c in CASES}
IDS = [c.name for c in CASES]


def test_the_table_is_complete(case_files):
    """At least 40 kinds of input, each a different file (a shared file would hide a case behind a duplicate)."""
    assert len(CASES) >= 40 and len(set(IDS)) == len(IDS)
    contents = {p.read_bytes() for p in case_files.values()}
    assert len(contents) == len(CASES)
    assert {c.exit for c in CASES} == {0, 1, 2}


@pytest.mark.parametrize("name", IDS)
def test_validate(name, case_files):
    case, path = BY_NAME[name], case_files[name]
    result = cli("validate", "--feed", case.feed, "--provider", PROVIDER[case.feed], "--json", path)
    if case.exit == 2:
        line = one_line_error(result, case.says)
        assert line.startswith(f"rapporteur: {path.name}: ")
        assert CANARY not in result.output
        return
    assert result.exit_code == case.exit, result.output[-2000:]
    out = json.loads(result.stdout)
    assert out["rows_in"] == case.expected_rows_in()
    assert out["rows_quarantined"] == case.quarantined
    assert out["rows_valid"] + out["rows_quarantined"] == out["rows_in"]
    assert case.rules <= {f["rule"] for f in out["failures"]}
    if case.says:
        assert any(re.search(case.says, n) for n in out["notes"]), out["notes"]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    """One installation that ingests every case in turn (each case is its own submission)."""
    root = tmp_path_factory.mktemp("ingest") / "home"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAPPORTEUR_HOME", str(root))
        env.setenv("DAGSTER_HOME", str(root / "dagster"))
        yield Home(root).ensure()


@pytest.mark.parametrize("name", IDS)
def test_ingest(name, case_files, shared_home, caplog):
    case, path = BY_NAME[name], case_files[name]
    caplog.set_level(logging.DEBUG)
    result = cli("ingest", "--feed", case.feed, "--provider", PROVIDER[case.feed], "--json", path)
    home = shared_home
    inbox = home.sealed_inbox(home.keyring()[0])
    sid = case_submission_id(case, path)
    ledger = inbox.get(sid)
    assert ledger is not None, "every submission is in the ledger, whatever became of it"
    if case.exit == 2:
        one_line_error(result, case.says)
        assert ledger.status == "rejected" and ledger.path.exists() and "rejected" in ledger.path.parts
        row = next(r for r in inbox.ledger() if r["submission_id"] == sid)
        assert row["rows_loaded"] is None and row["message"]
    else:
        assert result.exit_code == (1 if case.quarantined else 0), result.output[-2000:]
        out = json.loads(result.stdout)
        assert out["status"] == "loaded" and out["submission_id"] == sid
        assert (out["rows_in"], out["rows_quarantined"]) == (case.expected_rows_in(), case.quarantined)
        assert out["rows_loaded"] + out["rows_quarantined"] == out["rows_in"]
        row = next(r for r in inbox.ledger() if r["submission_id"] == sid)
        assert (row["status"], row["rows_in"], row["rows_loaded"], row["rows_quarantined"]) == (
            "loaded",
            out["rows_in"],
            out["rows_loaded"],
            out["rows_quarantined"],
        )
        _assert_repository_holds(home, case.feed, sid, out)
    # The bureau's side: nothing of a cell reaches the terminal, the log or the ledger.
    said = result.output + "\n".join(r.getMessage() for r in caplog.records) + json.dumps(inbox.ledger())
    for needle in (CANARY, SQL_INJECTION, *FORMULAS):
        assert needle not in said


def _assert_repository_holds(home: Home, feed: str, sid: str, out: dict) -> None:
    loaded, quarantined, ledger, _ = held(home, feed, sid)
    assert (loaded, quarantined) == (out["rows_loaded"], out["rows_quarantined"])
    assert ledger == (out["rows_in"], out["rows_loaded"], out["rows_quarantined"])


def test_the_same_submission_twice(case_files, home):
    path = case_files["semicolon delimiter"]
    first = cli("ingest", "--feed", VA, "--provider", PROVIDER[VA], "--json", path)
    again = cli("ingest", "--feed", VA, "--provider", PROVIDER[VA], "--json", path)
    assert first.exit_code == 0 and json.loads(first.stdout)["status"] == "loaded"
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "duplicate"
    submitted = cli("submit", "--feed", VA, "--provider", PROVIDER[VA], path)
    assert submitted.exit_code == 0 and "already received" in submitted.stdout
    inbox = home.sealed_inbox(home.keyring()[0])
    assert [r["status"] for r in inbox.ledger()] == ["loaded"]
    assert len(list(home.inbox.rglob("*.sealed"))) == 1


def test_a_rejected_file_sent_again_stays_rejected(case_files, home):
    path = case_files["binary garbage"]
    one_line_error(cli("ingest", "--feed", VA, "--provider", PROVIDER[VA], path), "not a text file")
    again = cli("ingest", "--feed", VA, "--provider", PROVIDER[VA], "--json", path)
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "duplicate"
    assert [r["status"] for r in home.sealed_inbox(home.keyring()[0]).ledger()] == ["rejected"]


HOSTILE_PROVIDERS = [
    "../etc",
    "..",
    "a/../../b",
    "x; rm -rf /",
    "$(reboot)",
    "`id`",
    "a' OR '1'='1",
    'a"; DROP TABLE x; --',
]


@pytest.mark.parametrize("provider", HOSTILE_PROVIDERS)
@pytest.mark.parametrize("command", ["validate", "ingest", "submit"])
def test_hostile_provider_ids_are_refused(command, provider, case_files, home):
    path = case_files["semicolon delimiter"]
    one_line_error(cli(command, "--feed", VA, "--provider", provider, path), r"provider id must be lowercase")
    assert not list(home.inbox.rglob("*.sealed")) and not any(home.warehouse.iterdir())
    assert not (home.inbox / VA).exists() or not any((home.inbox / VA).rglob("*"))


@pytest.mark.parametrize(
    ("name", "says"),
    [("victim-assistance__..%2fetc.csv", "provider id"), ("victim-assistance__$(id).csv", "provider id")],
)
def test_provider_taken_from_a_hostile_file_name_is_refused(name, says, case_files, tmp_path):
    path = tmp_path / name
    path.write_bytes(case_files["semicolon delimiter"].read_bytes())
    one_line_error(cli("validate", "--feed", VA, path), says)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--feed", "traffickers"], "unknown feed"),
        (["--feed", VA, "--period", "2024-Q5"], "period must be"),
        (["--feed", VA, "--period", "2024; DROP TABLE x"], "period must be"),
    ],
)
def test_bad_feed_or_period(args, says, case_files, home):
    path = case_files["semicolon delimiter"]
    one_line_error(cli("ingest", "--provider", PROVIDER[VA], *args, path), says)


def test_missing_file_directory_and_unsupported_suffix(tmp_path, home):
    one_line_error(cli("ingest", "--feed", VA, "--provider", "ngo-harbour", tmp_path / "absent.csv"), "no such file")
    one_line_error(cli("ingest", "--feed", VA, "--provider", "ngo-harbour", tmp_path), "no such file")
    (tmp_path / "extract.pdf").write_bytes(b"%PDF-1.4")
    one_line_error(cli("submit", "--feed", VA, "--provider", "ngo-harbour", tmp_path / "extract.pdf"), "send a .csv")


def test_formula_injection_is_neutralised_in_failures_csv(case_files, tmp_path):
    path = case_files["formula injection in code columns"]
    result = cli("validate", "--feed", VA, "--provider", PROVIDER[VA], "--report", tmp_path / "r", path)
    assert result.exit_code == 1
    with (tmp_path / "r" / "failures.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    cells = [c for r in rows for c in r]
    assert not [c for c in cells if c.startswith(FORMULA_PREFIXES)]
    assert {"'" + v for v in FORMULAS} <= set(cells)  # still readable: the value, with a leading apostrophe


def test_a_real_process_prints_one_line_for_a_rejected_file(case_files, tmp_path):
    """In a child process (no pytest log handlers), log records must not reach stderr beside the one line."""
    from tests.robustness.faults import run

    done = run(tmp_path / "home", "ingest", "--feed", VA, "--provider", PROVIDER[VA], case_files["empty file"])
    lines = [x for x in done.stderr.splitlines() if not x.startswith("note: created an UNPROTECTED demo keyring")]
    name = case_files["empty file"].name
    assert done.returncode == 2 and lines == [f"rapporteur: {name}: the file is empty; export the extract again"], lines
