"""End to end: a file submitted to the inbox is picked up by the sensor, run as its own partition, then analysed."""

from __future__ import annotations

import csv

import dagster as dg
import pytest
from typer.testing import CliRunner

from cli.main import app
from pipelines.definitions import build_defs
from pipelines.resources import RapporteurHome
from tests.conftest import sample_files
from warehouse.repository import connect, repository_path

pytestmark = pytest.mark.integration
VA = "victim-assistance"


def _launch(defs, instance, request: dg.RunRequest, job_name: str) -> dg.ExecuteInProcessResult:
    """Do what the daemon does with a sensor's run request, in this process."""
    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags, raise_on_error=False
    )


def _tick(defs, name, instance, resources, cursor):
    result = defs.get_sensor_def(name)(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_submitted_files_run_per_partition_then_the_analysis(home, sample_dir, tmp_path):
    defs, resources = build_defs("yearly"), {"rapporteur": RapporteurHome(root=str(home.root))}
    files = {prov: path for path, feed, prov in sample_files(sample_dir) if feed == VA}
    for provider, path in files.items():
        submitted = CliRunner().invoke(app, ["submit", str(path), "--feed", VA, "--provider", provider])
        assert submitted.exit_code == 0, submitted.output
    with dg.DagsterInstance.get() as instance:
        tick = _tick(defs, "victim_assistance_inbox", instance, resources, None)
        assert len(tick.run_requests) == len(files)
        for request in tick.run_requests:
            run = _launch(defs, instance, request, "victim_assistance_ingest")
            assert run.success
            checks = _checks(run)  # dataset_expectations only warns (the sample has gaps on purpose)
            assert checks.keys() == {"submission_readable", "dataset_expectations", "reconciles"}
            assert checks["submission_readable"] and checks["reconciles"]

        analysis = _tick(defs, "analysis_after_loads", instance, resources, None)
        (request,) = analysis.run_requests
        assert defs.resolve_job_def("analysis").execute_in_process(instance=instance).success
        assert not _tick(defs, "analysis_after_loads", instance, resources, analysis.cursor).run_requests
        with connect(home.warehouse / "research.duckdb", read_only=True) as con:
            assert con.execute("SELECT count(*) FROM hidden_population WHERE estimate IS NOT NULL").fetchone()[0] > 0

        # Freshness: every victim-assistance provider submitted; no law-enforcement provider did, each named.
        fresh = _launch(defs, instance, dg.RunRequest(partition_key="2025"), "provider_freshness")
        assert _checks(fresh) == {
            "victim_assistance_providers_submitted": True,
            "law_enforcement_providers_submitted": False,
        }
        (failing,) = [e for e in fresh.get_asset_check_evaluations() if not e.passed]
        assert failing.metadata["missing"].value == "police-central, police-north, prosecution-service"

        # A resubmission runs only its own partition; the provider's earlier submission is superseded.
        provider = "ngo-harbour"
        with files[provider].open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        resubmitted = tmp_path / "resubmitted.csv"
        with resubmitted.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows[:-10])  # ten records fewer
        assert (
            CliRunner().invoke(app, ["submit", str(resubmitted), "--feed", VA, "--provider", provider]).exit_code == 0
        )
        again = _tick(defs, "victim_assistance_inbox", instance, resources, tick.cursor)
        (request,) = again.run_requests
        before = instance.get_materialized_partitions(dg.AssetKey("victim_assistance_loaded"))
        assert _launch(defs, instance, request, "victim_assistance_ingest").success
        after = instance.get_materialized_partitions(dg.AssetKey("victim_assistance_loaded"))
        assert after - before == {request.partition_key}
        runs = instance.get_runs(filters=dg.RunsFilter(job_name="victim_assistance_ingest"))
        assert len(runs) == len(files) + 1  # nothing else was re-run
    with connect(repository_path(home.warehouse, VA), read_only=True, key=home.keyring()[0].key("database")) as con:
        current = con.execute(
            "SELECT rows_in FROM submissions WHERE provider = ? AND superseded_by IS NULL", [provider]
        ).fetchall()
    assert current == [(len(rows) - 11,)]  # the header is not a row


def test_the_ui_shows_whose_submission_a_partition_and_run_is(home, sample_dir):
    """Partition keys, run tags and every step's metadata name the feed, provider and period."""
    defs, resources = build_defs("yearly"), {"rapporteur": RapporteurHome(root=str(home.root))}
    path, _, provider = next(p for p in sample_files(sample_dir) if p[1] == VA)
    sub, _ = home.sealed_inbox(home.keyring(create_demo=True)[0]).place(path, VA, provider, "2024")
    with dg.DagsterInstance.get() as instance:
        (request,) = _tick(defs, "victim_assistance_inbox", instance, resources, None).run_requests
        key = f"{provider}_2024_{sub.submission_id}"
        assert request.partition_key == key
        assert instance.get_dynamic_partitions("victim_assistance_submissions") == [key]
        run = _launch(defs, instance, request, "victim_assistance_ingest")
        tags = instance.get_run_by_id(run.run_id).tags
        assert tags["rapporteur/feed"] == VA and tags["rapporteur/provider"] == provider
        assert tags["rapporteur/period"] == "2024" and tags["dagster/partition"] == key
        for step in ("landed", "validated", "pseudonymised", "loaded"):
            (record,) = instance.fetch_materializations(dg.AssetKey(f"victim_assistance_{step}"), limit=1).records
            meta = record.asset_materialization.metadata
            assert record.partition_key == key
            assert (meta["feed"].value, meta["provider"].value, meta["period"].value) == (VA, provider, "2024"), step


def test_partitions_of_installations_from_before_readable_keys_still_run(home, sample_dir):
    """A partition keyed by the bare submission id (how earlier versions registered them) runs as before."""
    defs = build_defs("yearly")
    path, _, provider = next(p for p in sample_files(sample_dir) if p[1] == VA)
    sub, _ = home.sealed_inbox(home.keyring(create_demo=True)[0]).place(path, VA, provider, "all")
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("victim_assistance_submissions", [sub.submission_id])
        run = _launch(defs, instance, dg.RunRequest(partition_key=sub.submission_id), "victim_assistance_ingest")
        assert run.success
    assert home.sealed_inbox(home.keyring()[0]).get(sub.submission_id).status == "loaded"
