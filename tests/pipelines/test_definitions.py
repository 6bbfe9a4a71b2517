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
        "analysis": {"research_database"},
    }
    assert defs.resolve_job_def(MAIN_JOB) is not None


def test_no_asset_writes_both_repositories():
    graph = defs.resolve_asset_graph()
    pools = {k.to_user_string(): graph.get(k).pools for k in graph.get_all_asset_keys()}
    assert pools["victim_assistance_loaded"] == {"victims_repository"}
    assert pools["law_enforcement_loaded"] == {"law_enforcement_repository"}
