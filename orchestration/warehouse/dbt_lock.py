"""A dbt-duckdb plugin (dbt_project/profiles.yml `plugins`): `dbt` waits for the warehouse file
lock, and says so, instead of dying with a traceback when another process holds it.

DuckDB lets one process open a database file for writing. Dagster's steps take turns (the
`warehouse` pool), but a `dbt` command run by hand meets whatever holds the file: a Dagster
step, a DuckDB shell, a notebook. Before dbt-duckdb connects, this plugin tries the file; while
another process holds it, it logs who, and retries with the same back-off as
`orchestration.resources.WarehouseResource`. After `lock_timeout_seconds` it fails in one line
that names the holder and what to do.
"""

from __future__ import annotations

import re
import time
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import DbtRuntimeError

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.+?\(PID \d+\))")
_log = AdapterLogger("DuckDB")
WAIT_MESSAGE = "waiting for the warehouse file lock"


class WarehouseLockedError(DbtRuntimeError):
    """Another process held the warehouse file for longer than the plugin waits."""


def lock_holder(error: Exception) -> str | None:
    """The process DuckDB names in a lock error, or None if `error` is not a lock error."""
    if "lock" not in str(error).lower():
        return None
    match = _LOCK_HOLDER.search(str(error))
    return match["holder"] if match else "another process"


def wait_for_lock(path: str, timeout_seconds: float) -> None:
    """Return once `path` can be opened for writing; raise WarehouseLockedError after
    `timeout_seconds` of another process holding it."""
    deadline = time.monotonic() + timeout_seconds
    delay, holder = 0.2, None
    while True:
        try:
            duckdb.connect(path).close()
            if holder is not None:
                _log.info(f"the warehouse file lock is free: {path}")
            return
        except duckdb.IOException as exc:
            seen = lock_holder(exc)
            if seen is None:
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseLockedError(
                    f"The warehouse {path} is locked by {seen} (DuckDB allows one writing "
                    f"process; waited {timeout_seconds:g} s): let that process finish or stop "
                    "it (a Dagster run, a DuckDB shell, a notebook), or run dbt on a copy "
                    "(RESPAWN_HOME=/tmp/copy); RESPAWN_DBT_LOCK_TIMEOUT_SECONDS sets the wait."
                ) from None
            if seen != holder:
                _log.warning(
                    f"{WAIT_MESSAGE}: {path} is held by {seen}; waiting up to "
                    f"{timeout_seconds:g} s for it to close"
                )
                holder = seen
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.timeout_seconds = float(plugin_config.get("lock_timeout_seconds", 120))

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        # called by dbt-duckdb right before it opens the database file
        if creds.path and creds.path != ":memory:":
            wait_for_lock(creds.path, self.timeout_seconds)
