"""Data-sharing agreements: without a valid one, a provider's submission is held, not loaded."""

from __future__ import annotations

import datetime as dt
import json

from intake.inbox import Inbox
from tests.cli.test_cli import _one_line_error, _run
from tests.conftest import sample_files

VA, LE = "victim-assistance", "law-enforcement"


def _add(reference, provider, *feeds, start="2020-01-01", end="2099-12-31"):
    args = ["agreements", "add", "--reference", reference, "--provider", provider, "--purposes", "annual report"]
    for f in feeds:
        args += ["--feed", f]
    return _run(*args, "--valid-from", start, "--valid-to", end)


def test_without_a_valid_agreement_a_submission_is_held_until_one_is_registered(home, sample_dir):
    files = {(feed, provider): path for path, feed, provider in sample_files(sample_dir)}
    (va_provider, va_path) = next((p, path) for (f, p), path in files.items() if f == VA)
    (le_provider, le_path) = next((p, path) for (f, p), path in files.items() if f == LE)
    assert "not checked against agreements" in _run("agreements", "list").stdout
    assert _add("DPA-1", le_provider, LE).exit_code == 0  # the register is now in use
    ended = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    assert _add("DPA-OLD", va_provider, VA, end=ended).exit_code == 0
    assert "must end on or after" in _one_line_error(
        _add("DPA-X", va_provider, VA, start="2030-01-01", end="2029-01-01")
    )
    assert "registered already" in _one_line_error(_add("DPA-1", le_provider, LE))

    held = json.loads(_run("ingest", "--feed", VA, "--provider", va_provider, "--json", va_path).stdout)
    assert (held["status"], held["rows_loaded"]) == ("held", 0)
    loaded = json.loads(_run("ingest", "--feed", LE, "--provider", le_provider, "--json", le_path).stdout)
    assert loaded["status"] == "loaded"
    listing = _run("agreements", "list").stdout
    assert "ENDED" in listing and held["submission_id"] in listing
    assert "register one first" in _one_line_error(_run("revision", "accept", held["submission_id"]))

    soon = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    added = _add("DPA-2", va_provider, VA, end=soon)
    assert added.exit_code == 0 and held["submission_id"] in added.stdout
    assert "EXPIRES SOON" in _run("agreements", "list").stdout
    assert _run("run").exit_code == 0
    status = {r["submission_id"]: r["status"] for r in Inbox(home.inbox).ledger()}
    assert status[held["submission_id"]] == "loaded"
