"""A submission with no valid row goes through the asset graph like any other: loaded with 0 rows, all quarantined."""

from __future__ import annotations

from intake.inbox import Inbox
from tests.cli.test_cli import _run
from tests.conftest import sample_files


def test_a_submission_without_a_valid_row_is_loaded_empty_by_the_main_job(home, sample_dir):
    (empty, feed, provider), (other, *kind) = list(sample_files(sample_dir))[::3][:2]
    assert feed != kind[0]
    assert _run("submit", "--feed", feed, "--provider", provider, "--period", "1999", empty).exit_code == 0
    assert _run("submit", "--feed", *kind[:1], "--provider", kind[1], other).exit_code == 0
    result = _run("run")
    assert result.exit_code == 0, result.output  # was: StopIteration in the pseudonymised step
    row = next(r for r in Inbox(home.inbox).ledger() if r["period"] == "1999")
    assert row["status"] == "loaded" and row["rows_loaded"] == 0
    assert row["rows_in"] == row["rows_quarantined"] > 0
