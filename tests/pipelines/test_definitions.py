"""The Definitions load, with every asset grouped, described and partitioned as the bureau expects."""

from __future__ import annotations

import dagster as dg

from pipelines.cycle_assets import APPROVE_JOB, RELEASE_JOB
from pipelines.definitions import build_defs
from pipelines.dp_assets import DP_RELEASE_JOB
from pipelines.jobs import ANALYSIS_JOB, ANNUAL_REPORT_JOB, FRESHNESS_JOB, ingest_job_name

defs = build_defs()


def test_definitions_load_with_groups_and_descriptions():
    graph = defs.resolve_asset_graph()
    groups = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        groups.setdefault(node.group_name, set()).add(key.to_user_string())
        assert node.description and len(node.description) > 20, key
    assert groups == {
        "law_enforcement": {f"law_enforcement_{s}" for s in ("landed", "validated", "pseudonymised", "loaded")},
        "victim_assistance": {f"victim_assistance_{s}" for s in ("landed", "validated", "pseudonymised", "loaded")},
        "analysis": {"research_database", "hidden_population", "annual_report", "provider_submissions"},
        "international": {"glotip_export", "eurostat_export", "sdg_export"},
        "reporting_cycle": {"period_status", "annual_release", "dp_release"},
    }
    for job in (
        ANALYSIS_JOB,
        ANNUAL_REPORT_JOB,
        FRESHNESS_JOB,
        APPROVE_JOB,
        RELEASE_JOB,
        "international_exports",
        DP_RELEASE_JOB,
        *map(ingest_job_name, ("law-enforcement", "victim-assistance")),
    ):
        assert defs.resolve_job_def(job) is not None
    # Every job together, as `dagster definitions validate` builds them (a job named like an asset fails here).
    assert len(defs.get_repository_def().get_all_jobs()) >= 8


def test_partitions_per_submission_and_per_reporting_period():
    graph = defs.resolve_asset_graph()

    def partitions(name):
        return graph.get(dg.AssetKey(name)).partitions_def

    for prefix in ("law_enforcement", "victim_assistance"):
        names = {partitions(f"{prefix}_{s}").name for s in ("landed", "validated", "pseudonymised", "loaded")}
        assert names == {f"{prefix}_submissions"}
    assert partitions("research_database") is None and partitions("hidden_population") is None
    assert partitions("annual_report").get_partition_keys()[0] == "2015"
    assert partitions("eurostat_export") == partitions("annual_report")  # one partition per reporting year
    quarterly = build_defs("quarterly").resolve_asset_graph().get(dg.AssetKey("provider_submissions")).partitions_def
    assert quarterly.get_partition_keys()[:2] == ["2015-01", "2015-04"]


def test_every_step_that_opens_a_repository_shares_one_pool():
    graph = defs.resolve_asset_graph()
    pools = {k.to_user_string(): graph.get(k).pools for k in graph.get_all_asset_keys()}
    assert pools["victim_assistance_loaded"] == pools["law_enforcement_loaded"] == {"warehouse"}
    assert pools["research_database"] == {"warehouse"}
    assert pools["hidden_population"] == {"warehouse"}  # it renames research.duckdb too
    assert pools["dp_release"] == {"warehouse"}  # it reads the stored linkage, which the research build writes
    assert not pools["victim_assistance_validated"] and not pools["victim_assistance_pseudonymised"]


def test_the_analysis_runs_in_order():
    graph = defs.resolve_asset_graph()
    parents = {
        k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys} for k in graph.get_all_asset_keys()
    }
    assert parents["research_database"] == {"victim_assistance_loaded", "law_enforcement_loaded"}
    assert parents["hidden_population"] == {"research_database"}
    assert parents["annual_report"] == {"hidden_population"}
    for kind in ("glotip", "eurostat", "sdg"):  # after the last step that writes research.duckdb
        assert parents[f"{kind}_export"] == {"hidden_population"}


def test_validation_checks_block_on_rejection_and_warn_on_expectations():
    from application.steps import Outcome
    from pipelines.checks import validation_check_results, validation_check_specs

    specs = {s.name: s for s in validation_check_specs("victim_assistance_validated")}
    assert specs["submission_readable"].blocking and not specs["dataset_expectations"].blocking
    rejected = Outcome("s2", "victim-assistance", "ngo-b", "all", "rejected", message="x.csv: the file is empty")
    readable, expectations = validation_check_results(rejected)
    assert not readable.passed and readable.severity == dg.AssetCheckSeverity.ERROR
    assert readable.metadata["reason"].value == "x.csv: the file is empty"
    assert expectations.passed
    warned = Outcome("s3", "victim-assistance", "ngo-c", "all", "validated", 10, 0, 0, warnings=("unknown_share:sex",))
    readable, expectations = validation_check_results(warned)
    assert readable.passed and not expectations.passed and expectations.severity == dg.AssetCheckSeverity.WARN
    assert "unknown_share:sex" in expectations.metadata["missed"].value


def test_the_disclosure_audit_blocks_the_analysis_job():
    from pipelines.analysis import disclosure_audit

    key = dg.AssetCheckKey(dg.AssetKey("research_database"), "disclosure_audit")
    assert [(s.key, s.blocking) for s in disclosure_audit.check_specs] == [(key, True)]
    assert key in defs.resolve_job_def(ANALYSIS_JOB).asset_layer.asset_graph.asset_check_keys


def test_period_partitions_say_why_years_show_as_missing():
    """The UI counts unwritten years of the report and unchecked periods as "missing": their descriptions say why."""
    graph = build_defs("yearly").resolve_asset_graph()
    for name in ("annual_report", "provider_submissions"):
        description = graph.get(dg.AssetKey(name)).description
        assert "missing" in description and "backfill" in description, name
