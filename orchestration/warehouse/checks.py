"""The warehouse checks: what the merge into `events` kept, and the one-row-per-id rule.

`rows_match_contract` and `no_new_conflicts` are about the ids a merge touches and run inside it;
`event_id_unique` is about the whole of `raw.events` and runs on its own (it blocks the marts).
"""

from datetime import date
from typing import Any

import dagster as dg

from orchestration import asset_keys
from orchestration.check_results import check_result
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.table_metadata import table_metadata
from orchestration.warehouse.raw_schema import IN_DAYS
from orchestration.warehouse.validation import ValidationReport

MATCHES_CONTRACT = "rows_match_contract"
NO_NEW_CONFLICTS = "no_new_conflicts"
EVENT_ID_UNIQUE = "event_id_unique"


# -- checks computed inside the merge -----------------------------------------------------------


def matches_contract(report: ValidationReport) -> dg.AssetCheckResult:
    failed = report.failed
    metadata: dict[str, Any] = {
        "rows validated": report.rows,
        "rows failed (quarantined)": failed,
    }
    if failed:
        metadata["failures by rule"] = table_metadata(
            ["rule", "rows"], report.failures_by_check.most_common()
        )
        metadata["examples"] = table_metadata(
            ["event_id", "rule", "value"],
            [(e["event_id"], e["rule"], e["value"]) for e in report.examples],
        )
    problem = (
        f"{failed} of {report.rows} rows broke the v1 contract and were quarantined in "
        "raw.quarantined_events instead of reaching raw.events"
    )
    return check_result(asset_keys.EVENTS, MATCHES_CONTRACT, problem if failed else None, metadata)


def no_new_conflicts(con: Any, days: list[date], conflicts: int) -> dg.AssetCheckResult:
    examples = con.execute(
        "select event_id, kept_shard_path, kept_line_number, shard_path, line_number "
        f"from raw.event_id_conflicts where {IN_DAYS} "
        "order by event_id, shard_path, line_number limit 5",
        {"days": days},
    ).fetchall()
    problem = (
        f"{conflicts} copies reuse an event_id with a different payload (a client bug or a "
        "forged id); the earliest copy was kept, the others are in raw.event_id_conflicts"
    )
    return check_result(
        asset_keys.EVENT_ID_CONFLICTS,
        NO_NEW_CONFLICTS,
        problem if conflicts else None,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "conflicting copies": conflicts,
            "examples": table_metadata(
                ["event_id", "kept shard", "kept line", "conflicting shard", "line"], examples
            ),
        },
    )


# -- standalone -----------------------------------------------------------------------------------


@dg.asset_check(
    asset=asset_keys.EVENTS,
    name=EVENT_ID_UNIQUE,
    description="Every event_id appears once in raw.events (blocks the marts when it does not).",
    blocking=True,
    pool=WAREHOUSE_POOL,
)
def event_id_unique(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    # One aggregation over raw.events (every night, over the whole table): the examples carry
    # the number of duplicated ids with them.
    with warehouse.get_connection() as con:
        rows = con.execute(
            "select event_id, copies, count(*) over () as total from ("
            "select event_id, count(*) as copies from raw.events "
            "group by event_id having count(*) > 1) "
            "order by copies desc, event_id limit 5"
        ).fetchall()
    duplicated = [(event_id, copies) for event_id, copies, _ in rows]
    total = rows[0][2] if rows else 0
    return dg.AssetCheckResult(
        passed=total == 0,
        metadata={
            "duplicated ids": total,
            "examples": table_metadata(["event_id", "copies"], duplicated),
        },
    )
