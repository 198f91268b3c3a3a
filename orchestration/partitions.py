"""Daily partitions by receive date (UTC): the `dt=` folders of the landing layout.

The partitioned assets are declared with `daily_partitions`, whose first day is only a floor.
When the code location's definitions are built (never at import), `with_first_day` gives them
the partitions of the data at hand instead: from the configured first day (`first_day`) on, so
the UI lists the days that can hold data, not a year of empty ones.
"""

from __future__ import annotations

import os
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from ingestion.landing.layout import Stream, published_shards
from ingestion.landing.store import open_store
from ingestion.settings import landing_location, landing_root, landing_url

# Set (YYYY-MM-DD) before Dagster loads the definitions to start the partitions on that day.
FIRST_DAY_VARIABLE = "RESPAWN_FIRST_DAY"

# end_offset=1: today's partition exists while it fills, so the shard sensor can load it.
_DAILY = {"timezone": "UTC", "end_offset": 1, "fmt": "%Y-%m-%d"}

# What the assets are declared with at import; the definitions replace it (`with_first_day`).
daily_partitions = dg.DailyPartitionsDefinition(start_date="2025-01-01", **_DAILY)

# A backfill of the partitioned assets loads up to a week per run: fewer processes, bounded
# transactions.
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=7)


def first_landed_day(home: Path | None = None) -> date | None:
    """The earliest receive date with a published shard, in either stream (None: none yet)."""
    if landing_url() is not None:  # object storage: one listing per stream (no folders to walk)
        store = open_store(landing_location(home))
        return min((s.day for stream in Stream for s in store.published(stream)), default=None)
    days: list[date] = []
    for stream in Stream:
        base = landing_root(home) / stream
        folders = sorted(base.glob("dt=*")) if base.is_dir() else []
        for folder in folders:  # the earliest folder that holds a published shard
            day = _folder_day(folder)
            if day is not None and published_shards(landing_root(home), stream, day):
                days.append(day)
                break
    return min(days, default=None)


def _folder_day(folder: Path) -> date | None:
    try:
        return date.fromisoformat(folder.name.removeprefix("dt="))
    except ValueError:  # not a partition folder of the layout
        return None


def first_day(home: Path | None = None) -> date:
    """The first partition: `RESPAWN_FIRST_DAY` if set, else the first landed day, else today
    (UTC: nothing has landed, and the ingestor lands today's receive date first)."""
    configured = os.environ.get(FIRST_DAY_VARIABLE, "").strip()
    if configured:
        try:
            return date.fromisoformat(configured)
        except ValueError:
            raise ValueError(
                f"{FIRST_DAY_VARIABLE}={configured!r} is not a date: set it as YYYY-MM-DD "
                "(e.g. 2026-01-01), or unset it to start on the first landed day"
            ) from None
    return first_landed_day(home) or datetime.now(UTC).date()


def daily_partitions_from(day: date) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=day.isoformat(), **_DAILY)


def with_first_day(defs: dg.Definitions, home: Path | None = None) -> dg.Definitions:
    """`defs` with every asset declared on `daily_partitions` partitioned from `first_day`."""
    partitions = daily_partitions_from(first_day(home))

    def narrowed(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.partitions_def != daily_partitions:
            return spec
        return spec.replace_attributes(partitions_def=partitions)

    # The one API that rewrites the specs of a whole Definitions; "preview" in 1.13 (it may change
    # in a patch release: the version is pinned, and tests/orchestration cover this function).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=narrowed)


def partition_days(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> list[date]:
    """The receive dates a run covers: one partition, or a range in a single-run backfill."""
    return [date.fromisoformat(key) for key in context.partition_keys]
