"""The shard sensor: newly published shards -> a load of their partitions, near real time.

"New" is decided by what was loaded, never by a shard's name or sequence: a shard is new when
the load manifest (`raw.loaded_shards`) does not have it and this sensor has not requested it
yet. So a shard published late (crash recovery, or a writer whose failed write left an earlier
shard in flight) is loaded like any other, and shards that are already loaded (the first
`make dev` after `make demo`) launch no run.

The cursor holds only the shards requested and not yet in the manifest, by day: it shrinks as
loads land, so a sensor ticking every 30 s over months of landing keeps a small cursor. The
manifest is read through a read-only connection; while a run holds the warehouse (DuckDB: one
writing process), the tick is skipped and the next one looks again.
"""

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.landing.layout import Stream
from orchestration.automation.jobs import load_landed_events
from orchestration.resources import LandingResource, WarehouseResource

Requested = dict[str, set[str]]  # day -> shard paths (relative to the landing root)


class WarehouseBusy(Exception):
    """Another process holds the warehouse file: the manifest cannot be read this tick."""


def loaded_shards(database: str, days: list[str]) -> set[str]:
    """The shards of `days` that the manifest says are loaded (none when there is no warehouse
    yet, or no manifest in it)."""
    if not days or not Path(database).exists():
        return set()
    try:
        con = duckdb.connect(database, read_only=True)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise WarehouseBusy(str(e)) from e
        raise
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = 'loaded_shards'"
        ).fetchone()
        if not exists or not exists[0]:
            return set()
        rows = con.execute(
            "select shard_path from raw.loaded_shards "
            "where cast(receive_date as varchar) in (select unnest(?::varchar[]))",
            [days],
        ).fetchall()
    finally:
        con.close()
    return {path for (path,) in rows}


def _read_cursor(cursor: str | None) -> Requested:
    if not cursor:
        return {}
    data = json.loads(cursor)
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        return {}  # a cursor of an older version (a high-water mark per writer): start afresh
    return {day: set(paths) for day, paths in data.items()}


def _write_cursor(requested: Requested) -> str:
    return json.dumps({day: sorted(paths) for day, paths in sorted(requested.items()) if paths})


@dg.sensor(
    job=load_landed_events,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Requests a load of each partition that has published shards that are neither in the "
        "load manifest nor already requested."
    ),
)
def landed_shards_sensor(
    context: dg.SensorEvaluationContext, landing: LandingResource, warehouse: WarehouseResource
) -> dg.SensorResult:
    published: dict[str, set[str]] = defaultdict(set)
    store = landing.store()  # a directory, or object storage: one listing per stream
    for stream in Stream:
        for shard in store.published(stream):
            published[shard.day.isoformat()].add(shard.rel)
    requested = _read_cursor(context.cursor)
    try:
        loaded = loaded_shards(warehouse.database, sorted(published))
    except WarehouseBusy as e:
        return dg.SensorResult(
            skip_reason=f"the warehouse is busy (a run holds it): looking again next tick ({e})",
            cursor=context.cursor,
        )
    # Forget what the manifest now has (and what left the landing): the cursor stays small.
    requested = {day: (paths & published[day]) - loaded for day, paths in requested.items()}
    # The partitions the job really has (`with_first_day` narrows them to the first landed day),
    # not the module-level floor they were declared with.
    partitions = context.repository_def.get_job(load_landed_events.name).partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    valid_keys = set(partitions.get_partition_keys())
    run_requests = []
    for day, paths in sorted(published.items()):
        new = paths - loaded - requested.get(day, set())
        if not new:
            continue
        if day not in valid_keys:
            context.log.warning(
                f"{len(new)} shard(s) of {day} are outside the partitions "
                f"(first day {partitions.start:%Y-%m-%d}; set RESPAWN_FIRST_DAY)"
            )
            continue
        digest = hashlib.sha256("\n".join(sorted(new)).encode()).hexdigest()[:16]
        run_requests.append(
            dg.RunRequest(
                run_key=f"shards-{day}-{digest}",
                partition_key=day,
                tags={"respawn/new_shards": str(len(new))},
            )
        )
        requested[day] = requested.get(day, set()) | new
    cursor = _write_cursor(requested)
    if not run_requests:
        return dg.SensorResult(skip_reason="no new published shards", cursor=cursor)
    return dg.SensorResult(run_requests=run_requests, cursor=cursor)
