"""The production instance: the whole graph on a private PostgreSQL server, and its runs read back."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from application.home import REPO_ROOT, Home
from pipelines.jobs import ANALYSIS_JOB, ANNUAL_REPORT_JOB, FRESHNESS_JOB
from pipelines.partitions import submission_partitions
from tests.conftest import installation_after_run, sample_files

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def _unavailable(reason: str):
    """Fail in CI (`make test` installs Debian's postgresql package), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the PostgreSQL test must run)")
    pytest.skip(reason)


def _bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway cluster in a temporary folder on a free port, run as `postgres` when we are root."""
    bindir = _bindir()
    if bindir is None:
        _unavailable("PostgreSQL's initdb is not installed (`make postgres` installs it as root)")
    as_user = []
    root = Path(tempfile.mkdtemp(prefix="rapporteur-pg-"))
    if os.geteuid() == 0:  # postgres refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()

    def run(*args):
        subprocess.run([*as_user, *map(str, args)], check=True, capture_output=True, cwd=root)

    run(bindir / "initdb", "-D", data, "-U", "dagster", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    run(bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-o", options, "-w", "start")
    try:
        run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "dagster", "rapporteur_dagster")
        yield {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(port),
            "DAGSTER_PG_USER": "dagster",
            "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
            "DAGSTER_PG_DB": "rapporteur_dagster",
        }
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_the_graph_runs_on_postgres_storage_and_reads_back(postgres, tmp_path, sample_dir, monkeypatch):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    for name, value in postgres.items():
        monkeypatch.setenv(name, value)
    home = Home(tmp_path / "home").ensure()
    shutil.copyfile(REPO_ROOT / "deploy" / "dagster.postgres.yaml", home.dagster / "dagster.yaml")  # the copy step
    with installation_after_run(home.root, sample_dir):
        pass
    monkeypatch.setenv("DAGSTER_HOME", str(home.dagster))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        runs = instance.get_runs()
        jobs = sorted(r.job_name for r in runs)
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        submissions = [s for s in sample_files(sample_dir)]
        assert jobs.count("victim_assistance_ingest") + jobs.count("law_enforcement_ingest") == len(submissions)
        assert {ANALYSIS_JOB, ANNUAL_REPORT_JOB, FRESHNESS_JOB} <= set(jobs)
        loaded = instance.get_materialized_partitions(dg.AssetKey("victim_assistance_loaded"))
        registered = instance.get_dynamic_partitions(submission_partitions("victim-assistance").name)
        assert loaded == set(registered) and len(loaded) == sum(f == "victim-assistance" for _, f, _ in submissions)
        (report,) = instance.fetch_materializations(dg.AssetKey("annual_report"), limit=1).records
        assert report.partition_key == "2025"
    assert not list(home.dagster.glob("**/*.db"))  # nothing went to SQLite
