"""The one `Definitions` of the respawn code location (workspace.yaml loads `defs`).

Each domain exports its own definitions (the dbt domain's are built from the manifest, so by a
function); this module merges them and sets, once, what every run shares: the resources and the
executor.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.automation.definitions import defs as automation
from orchestration.dbt.definitions import build_dbt_definitions
from orchestration.landing.definitions import defs as landing
from orchestration.ml.definitions import defs as ml
from orchestration.resources import build_resources
from orchestration.warehouse.definitions import defs as warehouse


def build_definitions(home: Path | None = None) -> dg.Definitions:
    """The code location for the data under `home` (default `$RESPAWN_HOME`)."""
    return dg.Definitions.merge(
        landing,
        warehouse,
        build_dbt_definitions(),
        ml,
        automation,
        dg.Definitions(
            resources=build_resources(home),
            # One process per run, its steps one after another: a run never races itself for the
            # DuckDB file lock, and concurrent runs (backfills, the sensor, the schedule,
            # "Materialize all") take turns through the warehouse pool. Nothing is lost: the
            # machine has 2 cores and the warehouse one writer.
            executor=dg.in_process_executor,
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location on `$RESPAWN_HOME`, built when Dagster loads it (not at import)."""
    return build_definitions()
