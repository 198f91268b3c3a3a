"""The code location: what a data engineer sees in the UI, and what keeps writers apart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

REPO = Path(__file__).resolve().parents[2]


def _graph() -> dg.AssetGraph:
    from orchestration.definitions import defs

    return defs().get_repository_def().asset_graph


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
        assert node.group_name in {
            "landing",
            "warehouse",
            "staging",
            "intermediate",
            "marts",
            "ml",
            "exports",
        }
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


def test_every_dbt_data_test_is_an_asset_check_so_no_run_logs_it_as_an_observation() -> None:
    """A data test Dagster cannot attach to one asset (a singular test reading two models, with
    no `meta.dagster.ref`) is logged as an AssetObservation with a warning on every run."""
    import json

    from orchestration.dbt_project import dbt_project

    manifest = json.loads(Path(dbt_project().manifest_path).read_text())
    tests = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node["package_name"] == "respawn"
    }
    checks = {key.name for key in _graph().asset_check_keys}
    assert tests and not tests - checks, sorted(tests - checks)


def test_the_nightly_job_runs_landing_events_and_dbt_at_two_utc() -> None:
    from orchestration.definitions import defs

    location = defs()
    job = location.resolve_job_def("nightly")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert {"raw_events", "events", "staging/stg_respawn__events"} <= selected
    schedule = location.resolve_schedule_def("nightly_schedule")
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


# Run in a fresh process under `dagster dev`'s variable, with a PATH that lacks this environment.
_IMPORT_EVERYTHING = """
import importlib, importlib.util, os, pkgutil, sys
from pathlib import Path

from dagster_dbt import DbtProject

import orchestration

path, manifest = os.environ["PATH"], Path("dbt_project/target/manifest.json")
parsed = manifest.stat().st_mtime_ns
production = [
    info.name
    for info in pkgutil.walk_packages(orchestration.__path__, "orchestration.")
    if not info.name.startswith("orchestration.demo")
]
for name in production:
    importlib.import_module(name)
from orchestration.dbt_project import dbt_project

assert os.environ["PATH"] == path, "importing rewrote PATH"
assert dbt_project.cache_info().currsize == 0, "importing built the DbtProject"
assert manifest.stat().st_mtime_ns == parsed, "importing parsed the dbt project"

from orchestration.definitions import build_definitions, defs

del os.environ["DAGSTER_IS_DEV_CLI"]  # the parse under `dagster dev` is not what is tested here
assert callable(defs)  # built by Dagster when it loads the code location
build_definitions()
assert "ml.ground_truth" not in sys.modules, "production code reads the simulator's truth"

# `make dbt-manifest` (dagster-dbt project prepare-and-package --file) finds the project among
# the file's attributes, and dbt on PATH for its preparer.
spec = importlib.util.spec_from_file_location("for_the_cli", "orchestration/dbt_project.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
found = [getattr(module, name) for name in dir(module)]
assert [p.name for p in found if isinstance(p, DbtProject)] == ["respawn"]
assert str(Path(sys.executable).parent) in os.environ["PATH"].split(os.pathsep)
print("ok")
"""


def test_importing_the_code_location_does_no_work_and_reads_no_ground_truth() -> None:
    env = {
        **os.environ,
        "PATH": "/usr/bin:/bin",
        "DAGSTER_IS_DEV_CLI": "1",  # prepare_if_dev would parse the dbt project if called
    }
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
