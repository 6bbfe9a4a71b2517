"""The sensors and schedules, evaluated on a real instance and inbox (build_sensor_context and friends)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time

import dagster as dg
import pytest
from typer.testing import CliRunner

from application.run import SETTLE_SECONDS
from cli.main import app
from pipelines.definitions import build_defs
from pipelines.partitions import submission_key, submission_partitions
from pipelines.resources import RapporteurHome
from tests.conftest import sample_files

VA = "victim-assistance"


@pytest.fixture
def instance(home):
    # Not `with`: entering an instance sets a context variable that a fixture's teardown cannot reset.
    instance = dg.DagsterInstance.get()
    yield instance
    instance.dispose()


@pytest.fixture
def defs():
    return build_defs("yearly")


@pytest.fixture
def resources(home):
    return {"rapporteur": RapporteurHome(root=str(home.root))}


@pytest.fixture
def inbox(home):
    return home.sealed_inbox(home.keyring(create_demo=True)[0])


def _va_files(sample_dir):
    return [(p, prov) for p, feed, prov in sample_files(sample_dir) if feed == VA]


def _evaluate(defs, name, instance, resources, cursor=None):
    sensor = defs.get_sensor_def(name)
    return sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))


def test_inbox_sensor_registers_partitions_and_requests_one_run_each(defs, instance, resources, inbox, sample_dir):
    (a, pa), (b, pb), *_ = _va_files(sample_dir)
    first, _ = inbox.place(a, VA, pa, "all")
    result = _evaluate(defs, "victim_assistance_inbox", instance, resources)
    # The partition key says whose submission it is: provider, period and id; the run's tags say it too.
    assert [r.partition_key for r in result.run_requests] == [f"{pa}_all_{first.submission_id}"]
    assert result.run_requests[0].run_key == first.submission_id
    assert result.run_requests[0].tags == {
        "rapporteur/feed": VA,
        "rapporteur/provider": pa,
        "rapporteur/period": "all",
        "rapporteur/submission": first.submission_id,
    }
    (added,) = result.dynamic_partitions_requests
    assert added.partitions_def_name == submission_partitions(VA).name
    assert list(added.partition_keys) == [submission_key(first)]
    # The cursor remembers it: the next tick requests only the newer submission.
    second, _ = inbox.place(b, VA, pb, "all")
    again = _evaluate(defs, "victim_assistance_inbox", instance, resources, cursor=result.cursor)
    assert [r.partition_key for r in again.run_requests] == [submission_key(second)]
    idle = _evaluate(defs, "victim_assistance_inbox", instance, resources, cursor=again.cursor)
    assert not idle.run_requests and idle.cursor == again.cursor
    # The other feed's sensor sees none of them.
    assert not _evaluate(defs, "law_enforcement_inbox", instance, resources).run_requests


def test_a_file_being_written_is_never_picked_up(defs, instance, resources, home, inbox, sample_dir):
    (path, provider), *_ = _va_files(sample_dir)
    folder = home.inbox / VA / provider / "2024"
    folder.mkdir(parents=True)
    (folder / ".upload.csv.partial").write_bytes(path.read_bytes()[:1000])  # an atomic copy in progress
    fresh = folder / "extract.csv"  # a copy by hand, still changing
    fresh.write_bytes(path.read_bytes())
    result = _evaluate(defs, "victim_assistance_inbox", instance, resources)
    assert not result.run_requests and fresh.exists() and inbox.ledger() == []
    settled = time.time() - SETTLE_SECONDS - 5
    os.utime(fresh, (settled, settled))  # it has not changed for the settling time
    result = _evaluate(defs, "victim_assistance_inbox", instance, resources)
    assert len(result.run_requests) == 1 and not fresh.exists()  # sealed into the inbox
    assert [r["provider"] for r in inbox.ledger()] == [provider]
    assert (folder / ".upload.csv.partial").exists()


def test_weekly_ingestion_schedule_retries_every_waiting_submission(defs, instance, resources, inbox, sample_dir):
    subs = [inbox.place(p, VA, prov, "all")[0] for p, prov in _va_files(sample_dir)]
    inbox.set_status(subs[0].submission_id, "loaded")  # done: not retried
    schedule = defs.get_schedule_def("victim_assistance_weekly_ingestion")
    when = dt.datetime(2027, 3, 1, 6, tzinfo=dt.UTC)
    requests = schedule(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=when, resources=resources)
    )
    assert sorted(r.partition_key for r in requests) == sorted(submission_key(s) for s in subs[1:])
    assert all(r.run_key.endswith("2027-03-01") for r in requests)
    assert all(r.tags["rapporteur/provider"] in r.partition_key for r in requests)
    assert set(instance.get_dynamic_partitions(submission_partitions(VA).name)) >= {submission_key(s) for s in subs[1:]}


def test_annual_report_schedule_runs_in_the_first_quarter_for_the_previous_year(defs, instance):
    schedule = defs.get_schedule_def("annual_report_schedule")
    assert schedule.cron_schedule == "0 6 15 2 *" and schedule.job_name == "annual_report_job"
    when = dt.datetime(2027, 2, 15, 6, tzinfo=dt.UTC)
    request = schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
    assert request.partition_key == "2026"


@pytest.mark.parametrize(("cadence", "key"), [("yearly", "2026"), ("quarterly", "2027-01")])
def test_freshness_schedule_checks_the_last_complete_period(instance, cadence, key):
    schedule = build_defs(cadence).get_schedule_def("weekly_provider_freshness")
    when = dt.datetime(2027, 5, 3, 7, tzinfo=dt.UTC)  # in 2027-Q2: the last complete quarter is 2027-Q1
    request = schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
    assert request.partition_key == key


def test_every_sensor_and_schedule_is_on_by_default(defs):
    sensors = {s.name: s.default_status for s in defs.sensors}
    schedules = {s.name: s.default_status for s in defs.schedules}
    assert set(sensors) == {"law_enforcement_inbox", "victim_assistance_inbox", "analysis_after_loads"} | {
        "record_run_failure"
    }
    assert set(schedules) == {
        "law_enforcement_weekly_ingestion",
        "victim_assistance_weekly_ingestion",
        "weekly_provider_freshness",
        "annual_report_schedule",
        "weekly_retention_purge",
    }
    assert set(sensors.values()) == {dg.DefaultSensorStatus.RUNNING}
    assert set(schedules.values()) == {dg.DefaultScheduleStatus.RUNNING}


CANARY = "Zyxwvut Canary-4417"


@dg.op
def _fails_quoting_a_cell():
    raise ValueError(f"could not convert '{CANARY}' to a date")  # as a library error may quote data


@dg.job
def _failing_job():
    _fails_quoting_a_cell()


def test_run_failure_sensor_records_the_failure_without_its_message(defs, instance, resources, home):
    result = _failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    sensor = defs.get_sensor_def("record_run_failure")
    context = dg.build_run_status_sensor_context(
        sensor_name="record_run_failure",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources=resources,
    ).for_run_failure()
    sensor(context)
    with sqlite3.connect(home.inbox / "ledger.sqlite") as con:
        rows = con.execute("SELECT run_id, job, step, error_type FROM run_failures").fetchall()
        dump = "\n".join(con.iterdump())
    assert rows == [(result.run_id, "_failing_job", "_fails_quoting_a_cell", "ValueError")]
    assert CANARY not in dump and "convert" not in dump
    shown = CliRunner().invoke(app, ["status"])  # the bureau's view of the same table
    assert shown.exit_code == 0 and "_failing_job  step _fails_quoting_a_cell  ValueError" in shown.output
    assert CANARY not in shown.output
