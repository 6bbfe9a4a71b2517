"""The Definitions load, with every asset grouped and described."""

from __future__ import annotations

from pipelines.definitions import MAIN_JOB, defs


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
        "analysis": {"research_database", "annual_report"},
    }
    assert defs.resolve_job_def(MAIN_JOB) is not None


def test_no_asset_writes_both_repositories():
    graph = defs.resolve_asset_graph()
    pools = {k.to_user_string(): graph.get(k).pools for k in graph.get_all_asset_keys()}
    assert pools["victim_assistance_loaded"] == {"victims_repository"}
    assert pools["law_enforcement_loaded"] == {"law_enforcement_repository"}


def test_validation_checks_fail_on_rejection_and_warn_on_expectations():
    from dagster import AssetCheckSeverity

    from pipelines.assets import validation_check_results
    from pipelines.steps import Outcome

    ok = Outcome("s1", "victim-assistance", "ngo-a", "all", "validated", 10, 0, 1)
    rejected = Outcome("s2", "victim-assistance", "ngo-b", "all", "rejected", message="x.csv: the file is empty")
    warned = Outcome("s3", "victim-assistance", "ngo-c", "all", "validated", 10, 0, 0, warnings=("unknown_share:sex",))
    readable, expectations = validation_check_results([ok, rejected, warned])
    assert not readable.passed and readable.severity == AssetCheckSeverity.ERROR
    assert readable.metadata["s2 (ngo-b)"].value == "x.csv: the file is empty"
    assert not expectations.passed and expectations.severity == AssetCheckSeverity.WARN
    assert "unknown_share:sex" in expectations.metadata["s3 (ngo-c)"].value
    assert all(r.passed for r in validation_check_results([ok]))
