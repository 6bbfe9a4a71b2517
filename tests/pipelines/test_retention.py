"""Retention: raw content goes a set time after the load, never before; counts stay and still reconcile."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3

from intake.inbox import Inbox
from tests.cli.test_cli import _one_line_error, _run
from tests.conftest import sample_files
from warehouse.accounting import unreconciled


def _age(home, sid: str, days: int) -> None:
    """Make a submission look loaded `days` days ago (what time would do)."""
    then = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat(timespec="milliseconds")
    with sqlite3.connect(home.inbox / "ledger.sqlite") as con:
        con.execute("UPDATE submissions SET updated_at = ? WHERE submission_id = ?", (then, sid))


def test_raw_content_is_purged_only_after_the_retention_period(home, sample_dir, monkeypatch):
    files = list(sample_files(sample_dir))
    (old_path, feed, provider), (new_path, feed2, provider2) = files[0], files[1]
    old = json.loads(_run("ingest", "--feed", feed, "--provider", provider, "--json", old_path).stdout)
    new = json.loads(_run("ingest", "--feed", feed2, "--provider", provider2, "--json", new_path).stdout)
    waiting = _run("submit", "--feed", feed, "--provider", provider, "--period", "2020", old_path)
    assert waiting.exit_code == 0
    waiting_sid = Inbox(home.inbox).ledger()[-1]["submission_id"]
    for sid in (old["submission_id"], waiting_sid):
        _age(home, sid, 400)
    ledger = {r["submission_id"]: r for r in Inbox(home.inbox).ledger()}
    sealed = {sid: ledger[sid]["path"] for sid in ledger}
    report = home.reports / "validation" / old["submission_id"]
    assert report.exists()

    dry = _run("purge", "--dry-run")
    assert dry.exit_code == 0 and old["submission_id"] in dry.stdout and "would remove" in dry.stdout
    assert all(os.path.exists(p) for p in sealed.values())

    monkeypatch.setenv("RAPPORTEUR_RETENTION_DAYS", "0")
    assert "RAPPORTEUR_RETENTION_DAYS" in _one_line_error(_run("purge"))
    monkeypatch.setenv("RAPPORTEUR_RETENTION_DAYS", "365")
    done = _run("purge")
    assert done.exit_code == 0, done.output
    assert "sealed raw file" in done.stdout and "validation report" in done.stdout
    assert new["submission_id"] not in done.stdout and waiting_sid not in done.stdout
    assert not os.path.exists(sealed[old["submission_id"]]) and not report.exists()
    assert os.path.exists(sealed[new["submission_id"]]) and os.path.exists(sealed[waiting_sid])  # never before
    after = {r["submission_id"]: r for r in Inbox(home.inbox).ledger()}
    counts = ("status", "rows_in", "rows_loaded", "rows_quarantined")
    assert [after[old["submission_id"]][c] for c in counts] == [ledger[old["submission_id"]][c] for c in counts]
    key = home.keyring()[0].key("database")
    assert unreconciled(home.warehouse, feed, key, Inbox(home.inbox).ledger()) == []
    assert [p["submission_id"] for p in Inbox(home.inbox).purges()] == [old["submission_id"]]
    assert "nothing is older" in _run("purge").stdout  # a second purge has nothing left to do


def test_the_weekly_purge_runs_as_a_dagster_job(home, sample_dir):
    import dagster as dg

    from pipelines.definitions import build_defs
    from pipelines.housekeeping import PURGE_JOB

    path, feed, provider = next(iter(sample_files(sample_dir)))
    sid = json.loads(_run("ingest", "--feed", feed, "--provider", provider, "--json", path).stdout)["submission_id"]
    _age(home, sid, 400)
    defs = build_defs("yearly")
    assert defs.get_schedule_def("weekly_retention_purge").job_name == PURGE_JOB
    with dg.DagsterInstance.get() as instance:
        assert defs.resolve_job_def(PURGE_JOB).execute_in_process(instance=instance).success
    assert [p["submission_id"] for p in Inbox(home.inbox).purges()] == [sid]
