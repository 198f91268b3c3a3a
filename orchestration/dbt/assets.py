"""The dbt project as Dagster assets: one graph from landing to the marts.

The translator maps the dbt source `respawn.events` to the `events` asset, so lineage runs
events -> staging -> intermediate -> marts; models are grouped by their dbt folder and dbt tests
show as asset checks, those of the source too (checks of `events`, run by the dbt step: without
that setting, dagster-dbt logs them as observations and warns on every run). dbt opens the
warehouse itself, so the step joins the warehouse pool.
`@dbt_assets` reads the manifest when it is applied, so the assets are made by a function that
the definitions call, never at import.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration import asset_keys
from orchestration.dbt.as_of import AsOfConfig, dbt_vars_args
from orchestration.dbt_project import PRODUCTION_BUILD
from orchestration.owners import ANALYTICS_ENGINEERING
from orchestration.resources import WAREHOUSE_POOL

# dbt source (source name, table name) -> the Dagster asset that produces it
SOURCE_ASSETS: dict[tuple[str, str], dg.AssetKey] = {("respawn", "events"): asset_keys.EVENTS}


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
        return ANALYTICS_ENGINEERING


def build_dbt_models(project: DbtProject, manifest: Path) -> dg.AssetsDefinition:
    """Every model of the manifest, run by one `dbt build` step (`respawn_dbt_models`)."""

    @dbt_assets(
        manifest=manifest,
        project=project,
        dagster_dbt_translator=RespawnDbtTranslator(
            DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True)
        ),
        name="respawn_dbt_models",
        pool=WAREHOUSE_POOL,
    )
    def respawn_dbt_models(
        context: dg.AssetExecutionContext, config: AsOfConfig, dbt: DbtCliResource
    ) -> Iterator[Any]:
        """`dbt build` of the selected models: runs them and their data tests (reported as
        checks); unit tests are left to `make test` (PRODUCTION_BUILD). Run config `as_of` (else
        RESPAWN_AS_OF) sets the as-of time, passed to dbt as the var `as_of`."""
        as_of = config.resolved()
        if as_of is not None:
            context.log.info(f"as-of time {as_of:%Y-%m-%d %H:%M:%S} (set for this run)")
        yield from dbt.cli([*PRODUCTION_BUILD, *dbt_vars_args(as_of)], context=context).stream()

    return respawn_dbt_models
