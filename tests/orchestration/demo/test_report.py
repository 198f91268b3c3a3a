"""What the demo's report says: why dead-letter holds more lines than the refusals the clients
saw (from real landed lines, loaded by the real load step), which checks failed (from the
Dagster instance), and numbers and settings in words, never as Python reprs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.contract import Code, Failure
from ingestion.landing.layout import Stream
from ingestion.landing.lines import deadletter_line, format_ts
from ingestion.landing.writer import ShardWriter
from ingestion.settings import landing_root, warehouse_path
from orchestration.demo.report import count, deadletter_explanation, failed_checks, window_lines
from tests.orchestration.runs import run_days

DAY = date(2026, 2, 10)
WHEN = datetime(2026, 2, 10, 12, tzinfo=UTC)


def _land_deadletter(home: Path) -> None:
    """Three events refused in frame b1; the frame re-sent after its ack was lost (two of them
    refused again on the new connection); a frame refused whole; a line torn by a crash."""
    writer = ShardWriter(landing_root(home), Stream.DEADLETTER, node="t", pid=1, start=WHEN)
    at = format_ts(WHEN)
    refused = [
        ('{"event_id": 1}', Failure(Code.MISSING_FIELD, "user_id", "user_id is required")),
        ('{"event_id": 2}', Failure(Code.WRONG_TYPE, "timestamp", "must be a string")),
        ('{"event_id": 3}', Failure(Code.INVALID_UUID, "event_id", "not a UUID")),
    ]
    for index, (raw, failure) in enumerate(refused):
        writer.write(deadletter_line(raw, failure, at, "c1", at, "b1", index), WHEN)
    for index, (raw, failure) in enumerate(refused[:2]):  # the same frame, sent again
        writer.write(deadletter_line(raw, failure, at, "c2", at, "b1", index), WHEN)
    not_json = Failure(Code.INVALID_JSON, None, "frame is not JSON")
    writer.write(deadletter_line("{not json", not_json, at, "c2"), WHEN)
    torn = Failure(Code.TORN_WRITE, None, "the last line of a shard was cut")
    writer.write(deadletter_line('{"received_at": "2026-02-1', torn, at, None), WHEN)
    writer.publish()


def _explain(home: Path, refused: int | None) -> list[str]:
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        return deadletter_explanation(con, refused, {"invalid_json": 1})
    finally:
        con.close()


def test_dead_letter_lines_are_explained_by_refusals_resends_frames_and_torn_lines(
    home: Path, instance: dg.DagsterInstance
) -> None:
    _land_deadletter(home)
    assert run_days(home, instance, DAY.isoformat(), only_landing=True).success
    lines = _explain(home, refused=3)
    assert lines == [
        "Why 7 dead-lettered lines and 3 refusals:",
        "- 3 refused events, one line each (the refusals of the acks)",
        "- 2 lines repeat a refused event: its frame was sent again after the ack was lost, and "
        "refused again",
        "- 1 frames refused whole (not JSON, bad envelope): a line each, counted by the clients as "
        "frame errors (1), not as refusals",
        "- 1 torn lines: a shard's end cut by a crash, never acknowledged",
    ]
    unexplained = _explain(home, refused=4)
    assert unexplained[-1].startswith("- 1 refusals are not explained by this")


@dg.asset(check_specs=[dg.AssetCheckSpec("never_empty", asset="numbers")])
def numbers() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[dg.AssetCheckResult(passed=False, description="it was empty")]
    )


@dg.asset(check_specs=[dg.AssetCheckSpec("always_fine", asset="letters")])
def letters() -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=True)])


def test_failed_checks_are_read_from_the_runs_in_the_instance(
    instance: dg.DagsterInstance,
) -> None:
    first = dg.materialize([numbers, letters], instance=instance)
    second = dg.materialize([letters], instance=instance)
    evaluated, failed = failed_checks(instance, [first.run_id, second.run_id])
    assert evaluated == 2
    assert [(f.asset_key, f.check_name, f.description) for f in failed] == [
        (dg.AssetKey("numbers"), "never_empty", "it was empty")
    ]


def test_settings_and_counts_read_as_words_and_separated_thousands() -> None:
    window = {
        "evaluation": {"start": "2026-11-13", "end": "2026-11-16", "rows": 3433, "churn_rate": 0.2},
        "train": {"start": "2026-10-02", "end": "2026-10-11", "rows": 135408, "churn_rate": 0.1},
        "horizon_days": 14,
        "weights": {"positive": 2.5},
    }
    assert window_lines(window) == [
        "train: 2026-10-02 to 2026-10-11, 135,408 rows, churn rate 10.0%",
        "evaluation: 2026-11-13 to 2026-11-16, 3,433 rows, churn rate 20.0%",
        "horizon: 14 days",
        "weights: positive: 2.5",
    ]
    assert all("{" not in line and "'" not in line for line in window_lines(window))
    assert (count(135408), count(0), count(None)) == ("135,408", "0", "")
