"""Resources: the DuckDB warehouse (one file, one writing process) and the landing (a directory,
or object storage).

DuckDB lets one process open a database file for writing. Every Dagster step that writes the
warehouse (the Python assets, dbt, the ML assets) declares `pool=WAREHOUSE_POOL`; the instance
(`dagster_home/dagster.yaml`) gives every pool a limit of 1, so steps of concurrent runs, of a
"Materialize all" and of a backfill take turns instead of failing on the file lock. A process
outside Dagster (a DuckDB shell, a notebook) can still hold the lock: then the connection waits
`lock_timeout_seconds` and fails with an error that says who holds it and what to do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from ingestion.landing.layout import Stream
from ingestion.landing.store import LandingStore, StoredShard, open_store
from ingestion.settings import landing_location, warehouse_path
from orchestration.dbt_project import dbt_cli

# The concurrency pool of every step that opens the warehouse (limit 1 in the instance config).
WAREHOUSE_POOL = "warehouse"

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.+?\(PID \d+\))")


class WarehouseLockedError(dg.Failure):
    """The warehouse file is locked by a process outside Dagster's pool."""


# Inside a step, this logger's records land in the run's event log (the UI and tests see them).
_log = dg.get_dagster_logger("respawn.warehouse")
LOCK_WAIT_MESSAGE = "waiting for the warehouse file lock"


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse file, opened for writing by at most one process at a time."""

    lock_timeout_seconds: float = Field(
        default=120.0,
        description="How long to wait for another process to release the file lock before failing.",
    )

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect_waiting_for_lock()
        try:
            # Naive UTC timestamps everywhere; scans keep file order (line numbers rely on it).
            conn.execute("set TimeZone = 'UTC'")
            conn.execute("set preserve_insertion_order = true")
            yield conn
        finally:
            conn.close()

    def _connect_waiting_for_lock(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.2
        while True:
            try:
                return duckdb.connect(self.database, config=dict(self.connection_config))
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() + delay > deadline:
                    raise _locked_error(self.database, exc, self.lock_timeout_seconds) from exc
                # Visible on purpose: inside Dagster the pool should make this wait impossible.
                _log.warning("%s: %s; %s", LOCK_WAIT_MESSAGE, self.database, exc)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction on `con`: committed when the block ends, rolled back when it raises
    (a run killed half-way leaves the warehouse as it was)."""
    con.begin()
    try:
        yield con
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _locked_error(database: str, exc: Exception, waited: float) -> WarehouseLockedError:
    match = _LOCK_HOLDER.search(str(exc))
    holder = match["holder"] if match else "another process"
    return WarehouseLockedError(
        description=(
            f"The warehouse {database} is locked by {holder} (DuckDB file lock; waited "
            f"{waited:g}s). DuckDB allows one writing process: close that process (a DuckDB "
            "shell, a notebook, a `dbt` run outside Dagster) or wait for it to finish, then "
            "re-execute this run. Dagster's own steps never collide: they share the "
            f"`{WAREHOUSE_POOL}` concurrency pool (limit 1, dagster_home/dagster.yaml)."
        ),
        metadata={"database": database, "lock holder": holder, "duckdb error": str(exc)},
    )


class LandingResource(dg.ConfigurableResource):
    """The landing the ingestor publishes shards into (layout: ingestion.landing): a local
    directory, or object storage (`s3://bucket/prefix`, read through s3fs)."""

    root: str = Field(
        description="Landing root: <root>/{events,deadletter}/dt=.../hour=.../ (a directory, or "
        "s3://bucket/prefix; its endpoint from RESPAWN_S3_ENDPOINT_URL)"
    )

    @property
    def path(self) -> Path:
        """The local landing directory (a landing on object storage has none)."""
        if not self.store().local:
            raise ValueError(f"the landing {self.root} is on object storage, not a directory")
        return Path(self.root)

    def store(self) -> LandingStore:
        """Listing, reading (and, for writers, publishing) the landing's shards."""
        return open_store(self.root)

    def shards(self, stream: Stream, day: date | None = None) -> list[StoredShard]:
        return self.store().published(stream, day)


def build_resources(home: Path | None = None) -> dict[str, object]:
    """The resources for the data under `home` (default `$RESPAWN_HOME`)."""
    return {
        "warehouse": WarehouseResource(database=str(warehouse_path(home))),
        "landing": LandingResource(root=landing_location(home)),
        "dbt": dbt_cli(),
    }
