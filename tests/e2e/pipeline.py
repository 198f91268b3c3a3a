"""The whole platform as the end-to-end tests drive it: the simulator CLI, the Dagster code
location (`build_definitions`, public job and asset names only), and reads of the DuckDB file."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from ingestion.landing.layout import Stream, published_shards, shard_day
from ingestion.landing.lines import read_lines
from ingestion.settings import landing_root, truth_root, warehouse_path
from orchestration.reconcile import Check, reconcile

REPO = Path(__file__).resolve().parents[2]
TOKEN = "e2e-s3cret"
# Stamps of when a row was written (and by which run): they differ between two runs that
# leave the same data, so a comparison of warehouse states leaves them out.
RUN_STAMPS = ("loaded_at", "run_id", "detected_at", "quarantined_at")


def history_start(days: int) -> str:
    """A start date whose `days` end before today (the simulator warns about future events)."""
    return (datetime.now(UTC).date() - timedelta(days=days + 1)).isoformat()


def simulate_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestration.cli", "simulate", "--no-progress", *args]


def simulate(*args: str, timeout: float = 240.0) -> subprocess.CompletedProcess[str]:
    """`respawn simulate ARGS` in a subprocess; fails the test with its output if it fails."""
    done = subprocess.run(
        simulate_command(*args),
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"respawn simulate failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done


def simulate_to_landing(
    home: Path, players: int, days: int, seed: int, start: date = date(2026, 1, 1)
) -> list[date]:
    """Published shards in `home`'s landing, spread over the receive dates of the history; the
    receive dates landed so far."""
    simulate(
        "--players", str(players),
        "--days", str(days),
        "--start", start.isoformat(),
        "--seed", str(seed),
        "--to-landing", str(landing_root(home)),
        "--truth-dir", str(truth_root(home)),
    )  # fmt: skip
    return landed_days(home)


def landed_days(home: Path) -> list[date]:
    return sorted({shard_day(p) for p in published_shards(landing_root(home), Stream.EVENTS)})


@dataclass(frozen=True)
class Copy:
    """One landed line of the events stream."""

    event_id: str
    received_at: datetime  # naive UTC, as the warehouse stores it
    shard_path: str  # relative to the landing root
    line_number: int


def landed_copies(home: Path, day: date | None = None) -> list[Copy]:
    """Every line of the published event shards, read from the files themselves."""
    root = landing_root(home)
    copies = []
    for shard in published_shards(root, Stream.EVENTS, day):
        rel = shard.relative_to(root).as_posix()
        for n, line in enumerate(read_lines(shard), start=1):
            received = datetime.fromisoformat(line["received_at"]).astimezone(UTC)
            copies.append(Copy(line["event"]["event_id"], received.replace(tzinfo=None), rel, n))
    return copies


def copies_per_event(home: Path) -> Counter[str]:
    return Counter(c.event_id for c in landed_copies(home))


@dataclass
class Pipeline:
    """The code location of `home`, run in process on one Dagster instance."""

    home: Path
    instance: dg.DagsterInstance

    @functools.cached_property
    def defs(self) -> dg.Definitions:
        """Built on first use, as Dagster builds them when it loads the code location: the
        partitions start on the first day landed by then."""
        from orchestration.definitions import build_definitions

        return build_definitions(self.home)

    @property
    def load_job(self) -> dg.JobDefinition:
        return self.defs.resolve_job_def("load_landed_events")

    def load(self, day: date, **kwargs: Any) -> dg.ExecuteInProcessResult:
        """One partition of `load_landed_events` (raw_events, deadletter_events, events)."""
        return self.load_job.execute_in_process(
            partition_key=day.isoformat(), instance=self.instance, **kwargs
        )

    def backfill(self, first: date, last: date) -> dg.ExecuteInProcessResult:
        """A range of partitions in one run, as a single-run backfill from the UI."""
        return self.load_job.execute_in_process(
            instance=self.instance,
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
        )

    def load_every_landed_day(self) -> list[date]:
        days = landed_days(self.home)
        assert days, "nothing landed"
        for day in days:
            assert self.load(day).success, f"the load of {day} failed"
        return days

    def build_marts(self) -> dg.ExecuteInProcessResult:
        """`dbt build` of every model downstream of `events` (the ML assets left out)."""
        events = dg.AssetKey("events")
        selection = dg.AssetSelection.assets(events).downstream(
            include_self=False
        ) - dg.AssetSelection.groups("ml")
        return dg.materialize(
            assets=list(self.defs.assets or ()),
            selection=selection,
            instance=self.instance,
            resources=self.defs.resources,
        )


@contextmanager
def warehouse(home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, closed before the next Dagster run needs the file."""
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        yield con
    finally:
        con.close()


def reconciliation(home: Path, truth: Path | None = None, *, marts: bool = True) -> list[Check]:
    """The reconciliation checks of `home`'s warehouse against its landing and its truth (by
    default the simulator's in `home`)."""
    with warehouse(home) as con:
        return reconcile(con, landing_root(home), truth or truth_root(home), marts=marts)


def query(home: Path, sql: str, params: object = None) -> list[tuple[Any, ...]]:
    with warehouse(home) as con:
        return con.execute(sql, params).fetchall()


def scalar(home: Path, sql: str, params: object = None) -> Any:
    return query(home, sql, params)[0][0]


def fingerprint(home: Path, tables: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """Row count and an order-free digest of each `raw.<table>`, run stamps left out."""
    out = {}
    with warehouse(home) as con:
        for table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                if name not in RUN_STAMPS
            ]
            assert columns, f"raw.{table} does not exist"
            row = ", ".join(f'"{c}"' for c in columns)
            count, digest = con.execute(
                f"select count(*), coalesce(sum(hash(row({row})::varchar)), 0)::varchar "
                f"from raw.{table}"
            ).fetchone() or (0, "0")
            out[table] = (int(count), str(digest))
    return out


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """What the failed steps of a run said: the error and the failure's description."""
    texts = []
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        if data.error is not None:
            texts.append(data.error.message)
        if data.user_failure_data is not None and data.user_failure_data.description:
            texts.append(data.user_failure_data.description)
    return "\n".join(texts)
