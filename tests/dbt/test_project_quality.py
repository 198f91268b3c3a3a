"""The project as analytics engineers use it: dbt tests, docs, lint, sources in sync."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import yaml

from orchestration.warehouse.raw_schema import COLUMN_DESCRIPTIONS, EVENT_COLUMNS
from tests.dbt.conftest import PROJECT_DIR, Builds, load_events, run_dbt
from tests.dbt.harness import Dbt

MIN_UNIT_TESTS = 16


def statuses(results: list[dict], kind: str) -> list[str]:
    return [r["status"] for r in results if r["unique_id"].startswith(kind + ".")]


def test_the_dbt_unit_tests_ran_and_passed(builds: Builds) -> None:
    unit = statuses(builds.history.results, "unit_test")
    assert len(unit) >= MIN_UNIT_TESTS
    assert set(unit) == {"pass"}


def test_the_data_tests_ran_and_passed_on_both_builds(builds: Builds) -> None:
    for build in (builds.history, builds.incremental):
        data = statuses(build.results, "test")
        assert len(data) >= 40
        assert set(data) == {"pass"}


def test_docs_generate_describes_every_model_and_column(builds: Builds, dbt: Dbt) -> None:
    run_dbt(dbt, builds.full_refresh.home, "docs", "generate")
    catalog = json.loads((builds.target / "catalog.json").read_text())["nodes"]
    manifest = json.loads((builds.target / "manifest.json").read_text())["nodes"]
    models = {k: v for k, v in manifest.items() if v["resource_type"] == "model"}
    assert len(models) == 13
    for unique_id, model in models.items():
        assert model["description"].strip(), f"{unique_id} has no description"
        built_columns = set(catalog[unique_id]["columns"])
        described = {name for name, c in model["columns"].items() if c["description"].strip()}
        assert built_columns == described, f"{unique_id}: columns and their docs differ"


def test_the_source_describes_every_raw_event_column_as_the_contract_does() -> None:
    sources = yaml.safe_load((PROJECT_DIR / "models/staging/_respawn__sources.yml").read_text())
    (table,) = sources["sources"][0]["tables"]
    assert [c["name"] for c in table["columns"]] == list(EVENT_COLUMNS)
    for column in table["columns"]:
        assert column["description"] == COLUMN_DESCRIPTIONS[column["name"]]
        assert column["data_type"] == EVENT_COLUMNS[column["name"]].lower()


def test_every_model_has_its_own_yaml() -> None:
    for sql in (PROJECT_DIR / "models").rglob("*.sql"):
        assert sql.with_suffix(".yml").exists(), f"{sql.name} has no YAML of its own"


def test_the_models_pass_sqlfluff(sqlfluff_lint: subprocess.Popen[str]) -> None:
    output, _ = sqlfluff_lint.communicate(timeout=280)
    assert sqlfluff_lint.returncode == 0, output


def test_the_profile_points_at_the_warehouse_of_ingestion_settings() -> None:
    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())
    output = profile["respawn"]["outputs"][profile["respawn"]["target"]]
    # RESPAWN_HOME, else ./data of the repository (dbt runs from dbt_project/)
    assert output["path"] == "{{ env_var('RESPAWN_HOME', '../data') }}/warehouse.duckdb"
    assert (PROJECT_DIR / "../data").resolve() == Path(PROJECT_DIR.parent / "data").resolve()


def test_the_project_builds_on_an_empty_events_table(tmp_path: Path, dbt: Dbt) -> None:
    """The state of a fresh install: raw.events exists (create_event_table) and is empty."""
    load_events(tmp_path, [])
    results = run_dbt(dbt, tmp_path, "build", "--exclude", "test_type:unit")
    assert {r["status"] for r in results} <= {"success", "pass"}
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.churn_features").fetchone() == (0,)
