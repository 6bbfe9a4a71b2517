"""The whole table of bad inputs through the pipeline: submitted together, one `rapporteur run`, every row accounted."""

from __future__ import annotations

import pytest

from tests.robustness.conftest import case_submission_id, cli
from tests.robustness.inputs import CASES, PROVIDER
from warehouse.accounting import unreconciled

pytestmark = pytest.mark.integration


def test_one_run_over_every_case(home, case_files):
    keyring = home.keyring(create_demo=True)[0]
    inbox = home.sealed_inbox(keyring)
    for case in CASES:
        inbox.place(case_files[case.name], case.feed, PROVIDER[case.feed], "all")
    result = cli("run")
    # The run names each submission it had to reject (one line each) and so exits 1.
    assert result.exit_code == 1, result.output[-3000:]
    assert "Traceback" not in result.output
    ledger = {r["submission_id"]: r for r in inbox.ledger()}
    assert len(ledger) == len(CASES)
    for case in CASES:
        row = ledger[case_submission_id(case, case_files[case.name])]
        if case.exit == 2:
            assert row["status"] == "rejected" and row["message"], case.name
            assert f"submission {row['submission_id']} ({PROVIDER[case.feed]}) rejected" in result.stderr, case.name
            continue
        counts = (row["status"], row["rows_in"], row["rows_quarantined"])
        assert counts == ("loaded", case.expected_rows_in(), case.quarantined), case.name
        assert row["rows_in"] == row["rows_loaded"] + row["rows_quarantined"], case.name
    for feed in PROVIDER:
        assert unreconciled(home.warehouse, feed, keyring.key("database"), inbox.ledger()) == []
