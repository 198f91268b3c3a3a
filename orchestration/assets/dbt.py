"""The dbt project as Dagster assets: one graph from landing to the marts.

The translator maps the dbt source `respawn.events` to the `events` asset, so lineage runs
events -> staging -> intermediate -> marts; models are grouped by their dbt folder and dbt tests
show as asset checks. dbt opens the warehouse itself, so the step joins the warehouse pool.
"""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.checks import EVENTS
from orchestration.dbt_project import PRODUCTION_BUILD, dbt_project, require_manifest
from orchestration.resources import WAREHOUSE_POOL

DBT_OWNERS = ["team:analytics-engineering"]
# dbt source (source name, table name) -> the Dagster asset that produces it
SOURCE_ASSETS: dict[tuple[str, str], dg.AssetKey] = {("respawn", "events"): EVENTS}


class RespawnDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            source = (dbt_resource_props["source_name"], dbt_resource_props["name"])
            if source in SOURCE_ASSETS:
                return SOURCE_ASSETS[source]
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # fqn = [project, folder, ..., name]: the first folder under models/ is the layer
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return DBT_OWNERS


@dbt_assets(
    manifest=require_manifest(),
    project=dbt_project,
    dagster_dbt_translator=RespawnDbtTranslator(),
    name="respawn_dbt_models",
    pool=WAREHOUSE_POOL,
)
def respawn_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """`dbt build` of the selected models: runs them and their data tests (reported as checks);
    unit tests are left to `make test` (PRODUCTION_BUILD)."""
    yield from dbt.cli(PRODUCTION_BUILD, context=context).stream()
