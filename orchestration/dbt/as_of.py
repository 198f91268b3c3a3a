"""The as-of time of a run: what "now" is for the marts, the model and the scores.

By default the data says it (dbt's `int_as_of_dates`: the end of the last complete day of event
time), so a history imported today is described as of where it ends. A run can set it instead:
the `as_of` field of the dbt and ML assets' run config (the Launchpad), else the environment
variable `RESPAWN_AS_OF` (the `respawn` command, a schedule's process), as an ISO date
(`2025-06-01`: its start) or date and time (`2025-06-01T12:00:00`, UTC). dbt receives it as
`--vars '{"as_of": ...}'`; the ML assets train on the labels known by its last complete day and
score that day's snapshot.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta

import dagster as dg
from pydantic import Field

AS_OF_ENV = "RESPAWN_AS_OF"
AS_OF_DESCRIPTION = (
    "The as-of time, an ISO date or date and time in UTC (e.g. 2025-06-01 or "
    "2025-06-01T12:00:00). Default: the environment variable RESPAWN_AS_OF, else the data's "
    "own (the end of the last complete day of event time)."
)


def parse_as_of(value: str) -> datetime:
    """`2025-06-01` or `2025-06-01T12:00:00` (or with a space) as a naive UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"as_of {value!r} is not an ISO date or date and time; write it like 2025-06-01 or "
            "2025-06-01T12:00:00 (UTC)"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def resolve_as_of(configured: str | None) -> datetime | None:
    """The run's as-of time: the run config's, else `RESPAWN_AS_OF`'s, else None (the data's)."""
    value = configured if configured else os.environ.get(AS_OF_ENV, "").strip() or None
    return None if value is None else parse_as_of(value)


def last_complete_day(as_of: datetime) -> date:
    """The last complete day before an as-of time (dbt: the day before its date)."""
    return as_of.date() - timedelta(days=1)


def dbt_vars_args(as_of: datetime | None) -> list[str]:
    """The `dbt build` arguments that pass the as-of time (none: the data's own)."""
    if as_of is None:
        return []
    return ["--vars", json.dumps({"as_of": as_of.strftime("%Y-%m-%d %H:%M:%S")})]


class AsOfConfig(dg.Config):
    """Run config of the assets that read the as-of time."""

    as_of: str | None = Field(default=None, description=AS_OF_DESCRIPTION)

    def resolved(self) -> datetime | None:
        try:
            return resolve_as_of(self.as_of)
        except ValueError as e:
            raise dg.Failure(str(e)) from None
