"""Warehouses built the way production builds them, fast enough to build many times in a test.

- Events land as real shards (`ingestion.landing.writer.ShardWriter`) and are loaded by the real
  loader functions Dagster's assets call (`plan_load`, `load_shards`, `merge_events`), so the
  dedupe of `raw.events` (earliest copy by received_at, shard, line) is the production one.
- dbt runs in this process through its Python API (`dbtRunner`) on a manifest parsed once per
  test session: a build costs the models' SQL, not dbt's start-up and parse.
- `differences` compares two warehouses model by model, row for row (EXCEPT ALL both ways).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from dbt.artifacts.resources.types import NodeType
from dbt.cli.main import dbtRunner, dbtRunnerResult
from dbt.contracts.graph.manifest import Manifest

from ingestion.landing.layout import Stream
from ingestion.landing.lines import event_line, format_ts
from ingestion.landing.writer import ShardWriter
from ingestion.settings import landing_root, warehouse_path
from orchestration.warehouse.dedupe import merge_events
from orchestration.warehouse.loading import load_shards
from orchestration.warehouse.raw_schema import create_raw_tables
from orchestration.warehouse.shards import plan_load

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "dbt_project"
# What the nightly job runs (orchestration.dbt_project.PRODUCTION_BUILD): models and data tests.
NIGHTLY = ("build", "--exclude-resource-type", "unit_test")


class DbtFailed(AssertionError):
    """A dbt invocation failed; the message holds what dbt reported."""


class Dbt:
    """The dbt project, parsed once, invoked in this process on any warehouse."""

    def __init__(self, target: Path) -> None:
        self.target = target
        parsed = dbtRunner().invoke(["parse", *self._paths()])
        if not parsed.success:
            raise DbtFailed(f"dbt parse failed: {parsed.exception}")
        self.manifest: Manifest = parsed.result

    def _paths(self) -> list[str]:
        return [
            "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(self.target), "--log-path", str(self.target / "logs"),
            "--quiet", "--no-send-anonymous-usage-stats",
        ]  # fmt: skip

    def models(self) -> list[str]:
        """`schema.name` of every model, in the manifest's order."""
        return [
            f"{node.schema}.{node.alias}"
            for node in self.manifest.nodes.values()
            if node.resource_type == NodeType.Model
        ]

    def __call__(self, home: Path, *args: str) -> dbtRunnerResult:
        """Run `dbt <args>` on the warehouse of `home`; raise with dbt's errors if it fails."""
        previous = os.environ.get("RESPAWN_HOME")
        os.environ["RESPAWN_HOME"] = str(home)
        try:
            result = dbtRunner(manifest=self.manifest).invoke([*args, *self._paths()])
        finally:
            close_duckdb_environment()
            if previous is None:
                del os.environ["RESPAWN_HOME"]
            else:
                os.environ["RESPAWN_HOME"] = previous
        if not result.success:
            raise DbtFailed(f"dbt {' '.join(args)} failed: {failures(result)}")
        return result


def close_duckdb_environment() -> None:
    """dbt-duckdb keeps its DuckDB connection open after an in-process invocation (profile
    `keep_open`, for the next one); close it, so that this process can open the file itself."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def failures(result: dbtRunnerResult) -> str:
    if result.exception is not None:
        return repr(result.exception)
    messages = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in getattr(result.result, "results", [])
        if str(r.status) not in ("success", "pass")
    ]
    return "; ".join(messages) or "no result"


@dataclass(frozen=True)
class Copy:
    """One landed line: a client event as the ingestor received it."""

    event: dict[str, Any]
    received_at: datetime
    sent_at: datetime | None = None
    batch_id: str | None = None

    @property
    def receive_date(self) -> date:
        return self.received_at.date()


@dataclass
class Warehouse:
    """A RESPAWN_HOME: landing shards and the warehouse file, loaded and built like production."""

    home: Path
    writers: int = 0
    loaded: list[tuple[date, bool]] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return warehouse_path(self.home)

    def land(self, copies: Iterable[Copy]) -> None:
        """Publish `copies` as one shard per receive hour (an ingestor connection's shards)."""
        self.writers += 1
        start = datetime(2026, 1, 1, tzinfo=UTC)
        writer = ShardWriter(
            landing_root(self.home), Stream.EVENTS, node="test", pid=self.writers, start=start
        )
        for copy in sorted(copies, key=lambda c: c.received_at):
            received = copy.received_at.replace(tzinfo=UTC)
            sent = format_ts(copy.sent_at.replace(tzinfo=UTC)) if copy.sent_at else None
            line = event_line(copy.event, format_ts(received), "conn-1", "valid", sent,
                              copy.batch_id)  # fmt: skip
            writer.write(line, received)
        writer.publish()

    def load(self, day: date, *, replace: bool = False) -> None:
        """What the Dagster assets `raw_events` and `events` do for one daily partition."""
        now = datetime.now(UTC)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(self.path)) as con:
            con.execute("set TimeZone = 'UTC'")
            con.execute("set preserve_insertion_order = true")
            create_raw_tables(con)
            con.begin()
            plan = plan_load(con, landing_root(self.home), Stream.EVENTS, [day], replace=replace)
            load_shards(con, plan, run_id="test", now=now)
            merge_events(con, [day], now)
            con.commit()
        self.loaded.append((day, replace))

    def copy_to(self, home: Path) -> Warehouse:
        """The same landing and warehouse under another home (the warehouse file is copied)."""
        shutil.copytree(self.home, home)
        return Warehouse(home, self.writers, list(self.loaded))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()


def differences(built: Warehouse, reference: Warehouse, relations: Iterable[str]) -> list[str]:
    """Per relation, the rows one warehouse has and the other has not (EXCEPT ALL both ways)."""
    found = []
    with duckdb.connect(str(built.path), read_only=True) as con:
        con.execute(f"attach '{reference.path}' as reference (read_only)")
        for relation in relations:
            for this, other, label in (
                (relation, f"reference.{relation}", "incremental only"),
                (f"reference.{relation}", relation, "full refresh only"),
            ):
                rows = con.execute(
                    f"select * from (select * from {this} except all select * from {other}) limit 5"
                ).fetchall()
                found += [f"{relation}: {label}: {row}" for row in rows]
    return found


def assert_same_rows(built: Warehouse, reference: Warehouse, relations: Iterable[str]) -> None:
    found = differences(built, reference, relations)
    assert not found, "the incremental build differs from a full refresh:\n" + "\n".join(found)
