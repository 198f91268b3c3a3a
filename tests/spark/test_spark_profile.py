"""The `spark` target of the dbt profile and the loader's Spark session are one configuration
(no JVM needed): what dbt-spark's session method builds is what the loader builds."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from orchestration.warehouse.spark_loading import spark_settings

PROFILE = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"
_ENV_VAR = re.compile(r"\{\{\s*env_var\('(\w+)',\s*'([^']*)'\)\s*\}\}")


def rendered(value: str, env: dict[str, str]) -> str:
    return _ENV_VAR.sub(lambda m: env.get(m[1], m[2]), value)


def test_the_spark_target_is_a_local_session_with_the_loaders_settings(tmp_path: Path) -> None:
    target = yaml.safe_load(PROFILE.read_text())["respawn"]["outputs"]["spark"]
    assert (target["type"], target["method"], target["threads"]) == ("spark", "session", 1)
    env = {
        "RESPAWN_HOME": str(tmp_path),
        "RESPAWN_SPARK_CORES": "3",
        "RESPAWN_SPARK_SHUFFLE_PARTITIONS": "1",
        "RESPAWN_SPARK_CODEGEN": "false",
    }
    profile = {
        key: rendered(str(value), env) for key, value in target["server_side_parameters"].items()
    }
    assert profile == spark_settings(tmp_path, cores=3, shuffle_partitions=1, codegen=False)
    # the warehouse and the metastore live under RESPAWN_HOME, beside the DuckDB warehouse
    assert profile["spark.sql.warehouse.dir"] == f"{tmp_path}/spark/warehouse"
    assert (
        f"databaseName={tmp_path}/spark/metastore_db"
        in profile["spark.hadoop.javax.jdo.option.ConnectionURL"]
    )
