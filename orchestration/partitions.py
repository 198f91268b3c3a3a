"""Daily partitions by receive date (UTC): the `dt=` folders of the landing layout."""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

# The first receive date the UI offers. Simulated histories start on 2026-01-01 by default;
# set RESPAWN_FIRST_DAY (YYYY-MM-DD) before starting Dagster for data that starts earlier.
FIRST_DAY = os.environ.get("RESPAWN_FIRST_DAY", "2025-01-01")

# end_offset=1: today's partition exists while it fills, so the shard sensor can load it.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_DAY, timezone="UTC", end_offset=1, fmt="%Y-%m-%d"
)

# A backfill of the partitioned assets loads up to a week per run: fewer processes, bounded
# transactions.
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=7)


def partition_days(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> list[date]:
    """The receive dates a run covers: one partition, or a range in a single-run backfill."""
    return [date.fromisoformat(key) for key in context.partition_keys]
