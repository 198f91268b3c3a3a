"""The one `Definitions` of the respawn code location (workspace.yaml loads `defs`).

Each domain exports its own definitions (the dbt domain's are built from the manifest, so by a
function); this module merges them and sets, once, what every run shares: the resources and the
executor. The daily partitions start on the first day of the data at hand (`with_first_day`).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

import orchestration.automation.definitions
import orchestration.landing.definitions
import orchestration.ml.definitions
import orchestration.warehouse.definitions
from orchestration.dbt.definitions import build_dbt_definitions
from orchestration.exports.definitions import build_exports_definitions
from orchestration.partitions import with_first_day
from orchestration.resources import build_resources


def build_definitions(home: Path | None = None) -> dg.Definitions:
    """The code location for the data under `home` (default `$RESPAWN_HOME`)."""
    merged = dg.Definitions.merge(
        orchestration.landing.definitions.defs,
        orchestration.warehouse.definitions.defs,
        build_dbt_definitions(),
        orchestration.ml.definitions.defs,
        build_exports_definitions(home),
        orchestration.automation.definitions.defs,
        dg.Definitions(
            resources=build_resources(home),
            # One process per run, its steps one after another: a run never races itself for the
            # DuckDB file lock, and concurrent runs (backfills, the sensor, the schedule,
            # "Materialize all") take turns through the warehouse pool. Nothing is lost: the
            # machine has 2 cores and the warehouse one writer.
            executor=dg.in_process_executor,
        ),
    )
    return with_first_day(merged, home)


@dg.definitions
def defs() -> dg.Definitions:
    """The code location on `$RESPAWN_HOME`, built when Dagster loads it (not at import)."""
    return build_definitions()
