"""Accounting: after every run, every submission's rows_in = rows_loaded + rows_quarantined, as really stored."""

from __future__ import annotations

import sqlite3

from tests.robustness.conftest import cli
from tests.robustness.inputs import PROVIDER, VA
from warehouse.accounting import unreconciled
from warehouse.repository import connect, repository_path


def _ingest(path):
    return cli("ingest", "--feed", VA, "--provider", PROVIDER[VA], "--json", path)


def test_stored_rows_that_do_not_add_up_fail_the_next_run_loudly(home, case_files):
    assert _ingest(case_files["unknown codes"]).exit_code == 1  # 3 of 20 rows quarantined
    keyring = home.keyring()[0]
    ledger = home.sealed_inbox(keyring).ledger()
    assert unreconciled(home.warehouse, VA, keyring.key("database"), ledger) == []
    with connect(repository_path(home.warehouse, VA), key=keyring.key("database")) as con:
        con.execute("DELETE FROM victim_assistance WHERE rowid IN (SELECT min(rowid) FROM victim_assistance)")
    result = _ingest(case_files["semicolon delimiter"])
    assert result.exit_code == 1
    (line,) = [x for x in result.stderr.splitlines() if "reconcile" in x]
    assert (
        line.startswith("rapporteur: submission ") and "17 loaded + 3 quarantined in its ledger, 16 + 3 stored" in line
    )


def test_an_inbox_ledger_that_disagrees_with_the_repository_fails_loudly(home, case_files):
    assert _ingest(case_files["tab delimiter"]).exit_code == 0
    with sqlite3.connect(home.inbox / "ledger.sqlite") as con:
        con.execute("UPDATE submissions SET rows_loaded = rows_loaded - 1, rows_quarantined = rows_quarantined + 1")
    result = _ingest(case_files["pipe delimiter"])
    assert result.exit_code == 1 and "the inbox ledger's counts differ from the repository's" in result.stderr
