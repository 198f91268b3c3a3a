"""The code location: what a data engineer sees in the UI, and what keeps writers apart."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

REPO = Path(__file__).resolve().parents[2]


def _graph() -> dg.AssetGraph:
    from orchestration.definitions import defs

    return defs.get_repository_def().asset_graph


def test_definitions_load_with_the_landing_warehouse_and_dbt_assets() -> None:
    keys = {key.to_user_string() for key in _graph().get_all_asset_keys()}
    assert {
        "raw_events",
        "deadletter_events",
        "events",
        "event_id_conflicts",
        "quarantined_events",
        "staging/stg_respawn__events",
    } <= keys


def test_every_asset_has_a_description_group_kind_and_owner() -> None:
    graph = _graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assert node.description, key
        assert node.group_name in {"landing", "warehouse", "staging", "intermediate", "marts", "ml"}
        assert node.kinds, key
        assert node.owners, key


def test_every_asset_that_writes_the_warehouse_is_in_the_warehouse_pool() -> None:
    graph = _graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            assert node.pools == {"warehouse"}, key


def test_the_dbt_source_events_is_the_events_asset_so_lineage_is_one_graph() -> None:
    graph = _graph()
    staging = dg.AssetKey(["staging", "stg_respawn__events"])
    assert dg.AssetKey("events") in graph.get(staging).parent_keys
    assert dg.AssetKey("raw_events") in graph.get(dg.AssetKey("events")).parent_keys
    assert graph.get(staging).group_name == "staging"


def test_dbt_tests_show_as_asset_checks() -> None:
    checks = {key.name for key in _graph().asset_check_keys}
    assert any(name.startswith("unique_stg_respawn__events") for name in checks)
    assert {"event_id_unique", "rows_match_contract", "landing_freshness"} <= checks


def test_the_nightly_job_runs_landing_events_and_dbt_at_two_utc() -> None:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("nightly")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert {"raw_events", "events", "staging/stg_respawn__events"} <= selected
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"


def test_workspace_is_the_one_entry_point_and_the_instance_limits_every_pool_to_one() -> None:
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "orchestration.definitions"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert "[tool.dagster]" not in pyproject and "[tool.dg]" not in pyproject
    instance = yaml.safe_load((REPO / "dagster_home" / "dagster.yaml").read_text())
    assert instance["concurrency"]["pools"]["default_limit"] == 1
    assert instance["concurrency"]["pools"]["granularity"] == "op"
