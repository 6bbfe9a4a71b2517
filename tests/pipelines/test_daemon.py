"""The real thing: `dagster-daemon` picks a submitted file up, runs it and the analysis, and runs a CLI backfill."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from application.home import REPO_ROOT
from cli.main import app
from tests.conftest import sample_files

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
PATIENCE = 900  # seconds: a bound for a shared, noisy machine, not a timing assertion


def _wait_for(instance: dg.DagsterInstance, job: str, count: int, daemon: subprocess.Popen) -> list[dg.DagsterRun]:
    """Wait until `count` runs of `job` have finished (or the daemon died); return them."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline and daemon.poll() is None:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=job))
        if len([r for r in runs if r.is_finished]) >= count:
            return runs
        time.sleep(2)
    return instance.get_runs(filters=dg.RunsFilter(job_name=job))


def test_daemon_runs_a_dropped_file_then_the_analysis_then_a_backfill(home, sample_dir):
    path, feed, provider = next(f for f in sample_files(sample_dir) if f[1] == "victim-assistance")
    submitted = CliRunner().invoke(app, ["submit", str(path), "--feed", feed, "--provider", provider])
    assert submitted.exit_code == 0, submitted.output
    env = os.environ | {"RAPPORTEUR_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster)}
    log = (home.root / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [BIN / "dagster-daemon", "run", "-m", "pipelines.definitions"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
    )
    try:
        with dg.DagsterInstance.get() as instance:
            (ingest,) = _wait_for(instance, "victim_assistance_ingest", 1, daemon)
            assert ingest.status == dg.DagsterRunStatus.SUCCESS
            assert ingest.tags["dagster/sensor_name"] == "victim_assistance_inbox"
            (analysis,) = _wait_for(instance, "analysis", 1, daemon)
            assert analysis.status == dg.DagsterRunStatus.SUCCESS
            assert analysis.tags["dagster/sensor_name"] == "analysis_after_loads"
            backfill = subprocess.run(
                [BIN / "dagster", "job", "backfill", "-m", "pipelines.definitions", "-j", "annual_report_job"]
                + ["--from", "2023", "--to", "2024", "--noprompt"],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            assert backfill.returncode == 0, backfill.stderr[-2000:]
            reports = _wait_for(instance, "annual_report_job", 2, daemon)
            assert sorted(r.tags["dagster/partition"] for r in reports) == ["2023", "2024"]
            assert {r.status for r in reports} == {dg.DagsterRunStatus.SUCCESS}
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        log.close()
    assert (home.reports / "annual-report-2023.html").exists() and (home.reports / "annual-report-2024.html").exists()
