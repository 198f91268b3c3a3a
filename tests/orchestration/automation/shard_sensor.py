"""One evaluation of the shard sensor, as the daemon runs it: in the code location of the data
under `home` (whose partitions start on the first landed day) with its resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


def evaluate_shard_sensor(
    home: Path, cursor: str | None, instance: dg.DagsterInstance
) -> dg.SensorResult:
    from orchestration.automation.sensors import landed_shards_sensor
    from orchestration.definitions import build_definitions
    from orchestration.resources import build_resources

    built = build_resources(home)
    context = dg.build_sensor_context(
        cursor=cursor,
        instance=instance,
        definitions=build_definitions(home),
        resources={"landing": built["landing"], "warehouse": built["warehouse"]},
    )
    return landed_shards_sensor(context)
