"""Reconciliation at small scale: simulated players -> a real `respawn serve` over WebSockets ->
Dagster loads every landed partition -> events -> dbt build. Every count that the simulator's
truth allows then agrees between the stages, or a named rule explains the difference.

One run, made once for the module, read by the tests below (each one rule of `reconcile`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import orjson
import pytest

from ingestion.settings import landing_root, truth_root, warehouse_path
from orchestration.reconcile import Check, reconcile
from tests.e2e.pipeline import TOKEN, Pipeline, history_start, reconciliation, simulate
from tests.support.ingestor import running_ingestor

PLAYERS, DAYS, SEED = 60, 20, 7
# Every test reads one run: an ingestor, simulated clients with faults, the whole graph.
pytestmark = pytest.mark.slow


@dataclass
class Reconciled:
    home: Path
    summary: dict
    loaded_days: int
    marts_built: bool
    checks: dict[str, Check]

    def check(self, name: str) -> Check:
        assert name in self.checks, f"reconcile() has no check {name!r}: {list(self.checks)}"
        return self.checks[name]

    def assert_ok(self, name: str) -> None:
        check = self.check(name)
        assert check.ok, check.line()


@pytest.fixture(scope="module")
def reconciled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reconciled]:
    home = tmp_path_factory.mktemp("reconcile") / "home"
    with pytest.MonkeyPatch.context() as env, dg.DagsterInstance.ephemeral() as instance:
        env.setenv("RESPAWN_HOME", str(home))
        with running_ingestor(home, token=TOKEN) as ing:
            simulate(
                "--players", str(PLAYERS),
                "--days", str(DAYS),
                "--start", history_start(DAYS),
                "--seed", str(SEED),
                "--url", ing.url,
                "--token", TOKEN,
                "--truth-dir", str(truth_root(home)),
                "--drop-connection-rate", "0.01",
            )  # fmt: skip
            assert ing.stop() == 0, ing.logs()[-3000:]  # SIGTERM publishes the open shards
        pipeline = Pipeline(home, instance)
        days = pipeline.load_every_landed_day()
        marts = pipeline.build_marts()
        checks = reconciliation(home)
        yield Reconciled(
            home,
            orjson.loads((truth_root(home) / "summary.json").read_bytes()),
            len(days),
            marts.success,
            {c.name: c for c in checks},
        )


def test_the_run_goes_through_every_stage_with_delivery_faults(reconciled: Reconciled) -> None:
    counts = reconciled.summary["counts"]
    # Faults that a reconciliation must see through: copies sent twice, frames resent after a
    # dropped connection, events refused by the contract.
    assert counts["acked"] > 2000
    assert counts["dropped_connections"] > 0 and counts["retried_frames"] > 0
    assert sum(counts["refused"].values()) > 0
    assert reconciled.loaded_days >= 1
    assert reconciled.marts_built
    assert all(c.expected > 0 for c in reconciled.checks.values()), reconciled.checks


def test_every_landed_copy_is_loaded_into_raw_events_exactly_once(
    reconciled: Reconciled,
) -> None:
    reconciled.assert_ok("landed copies loaded once into raw_events")


def test_every_acknowledged_event_is_in_raw_events_once_per_landed_copy(
    reconciled: Reconciled,
) -> None:
    reconciled.assert_ok("acknowledged events found in raw_events")
    reconciled.assert_ok(
        "raw_events copies per acknowledged event_id between its acked and its sent copies"
    )


def test_events_holds_each_acknowledged_event_id_once(reconciled: Reconciled) -> None:
    reconciled.assert_ok("events = distinct event_ids of raw_events (less quarantined)")
    # Copies that landed but whose ack was lost are allowed only under their named rule.
    reconciled.assert_ok("events = distinct acknowledged event_ids")


def test_fct_sessions_are_the_simulated_sessions_with_an_acknowledged_event(
    reconciled: Reconciled,
) -> None:
    reconciled.assert_ok("fct_sessions = simulated sessions with an acknowledged event")


def test_rage_quits_found_are_the_truth_rage_quits_that_survived_delivery(
    reconciled: Reconciled,
) -> None:
    reconciled.assert_ok("rage quits found = rage quits in the truth that survived delivery")


def test_reconciliation_fails_when_an_acknowledged_event_or_a_rage_quit_goes_missing(
    reconciled: Reconciled, tmp_path: Path
) -> None:
    """The checks above can fail: the same warehouse with one event and one rage quit lost."""
    broken = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse_path(reconciled.home), broken)
    con = duckdb.connect(str(broken))
    try:
        lost = con.execute(
            "select event_id from raw.events where event_name = 'match_played' limit 1"
        ).fetchone()
        assert lost is not None
        for table in ("raw_events", "events"):
            kind = con.execute(
                "select table_type from information_schema.tables "
                "where table_schema = 'raw' and table_name = ?",
                [table],
            ).fetchone()
            if kind == ("BASE TABLE",):  # `events` may be a view of the kept copies
                con.execute(f"delete from raw.{table} where event_id = ?", [lost[0]])
        con.execute("delete from marts.fct_rage_quits where rage_quit_id in "
                    "(select rage_quit_id from marts.fct_rage_quits limit 1)")  # fmt: skip
        failed = {
            c.name
            for c in reconcile(con, landing_root(reconciled.home), truth_root(reconciled.home))
            if not c.ok
        }
    finally:
        con.close()
    assert {
        "landed copies loaded once into raw_events",
        "acknowledged events found in raw_events",
        "rage quits found = rage quits in the truth that survived delivery",
    } <= failed
