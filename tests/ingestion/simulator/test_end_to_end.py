"""Simulator -> a real `respawn serve` -> landed shards: the delivery log reconciles with them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ingestion.simulator.truth import ACKS, PLAYERS, SESSIONS, SUMMARY, read_csv
from orchestration.cli import main
from tests.ingestion.simulator.landed import Landed, event_at, read_landing, ts
from tests.support.ingestor import running_ingestor

TOKEN = "sim-s3cret"


@dataclass
class Delivered:
    exit_code: int
    truth_dir: Path
    landed: Landed
    acks: list[dict[str, str]]
    summary: dict


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Delivered:
    tmp = tmp_path_factory.mktemp("e2e")
    start = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    with running_ingestor(tmp / "data", token=TOKEN) as ing:
        argv = ["simulate", "--players", "150", "--days", "7", "--start", start, "--seed", "4"]
        argv += ["--url", ing.url, "--token", TOKEN, "--truth-dir", str(tmp / "truth")]
        argv += ["--connections", "3", "--drop-connection-rate", "0.01", "--no-progress"]
        argv += ["--clock-skew-rate", "0.3"]
        code = main(argv)
        ing.stop()  # a clean stop publishes the shards still open
    return Delivered(
        code,
        tmp / "truth",
        read_landing(ing.landing_root),
        read_csv(tmp / "truth" / ACKS),
        orjson.loads((tmp / "truth" / SUMMARY).read_bytes()),
    )


def test_the_run_succeeds_and_its_summary_counts_the_delivery_log(delivered: Delivered) -> None:
    assert delivered.exit_code == 0
    outcomes = Counter(row["outcome"] for row in delivered.acks)
    counts = delivered.summary["counts"]
    assert counts["acked"] == outcomes["acked"] > 3000
    assert counts["events_sent"] == len(delivered.acks)
    assert sum(counts["refused"].values()) == outcomes["refused"] > 0
    assert counts["dropped_connections"] > 0 and counts["retried_frames"] > 0


def test_every_acknowledged_event_lands(delivered: Delivered) -> None:
    acked = {row["event_id"] for row in delivered.acks if row["outcome"] == "acked"}
    assert acked <= set(delivered.landed.copies)


def test_events_land_more_than_once_only_when_they_were_sent_more_than_once(
    delivered: Delivered,
) -> None:
    sends = Counter(row["event_id"] for row in delivered.acks)  # a row per copy sent
    assert {row["why"] for row in delivered.acks} == {"first", "duplicate", "retry"}
    doubled = 0
    for event_id, copies in delivered.landed.copies.items():
        assert len(copies) <= sends[event_id], event_id
        doubled += len(copies) > 1
    assert doubled > 0


def test_refused_events_are_dead_lettered_with_the_code_they_were_refused_with(
    delivered: Delivered,
) -> None:
    dead = Counter(
        (orjson.loads(line["raw"]).get("event_id", ""), line["failure"]["code"])
        for line in delivered.landed.deadletter
    )
    sent = Counter(row["event_id"] for row in delivered.acks)
    refused = Counter(
        (row["event_id"], row["code"]) for row in delivered.acks if row["outcome"] == "refused"
    )
    assert refused
    for key, n in refused.items():
        assert dead[key] >= n, key  # every refusal was dead-lettered...
    for (event_id, _), n in dead.items():
        assert n <= sent[event_id]  # ...and only what was sent (resends of unacked frames too)
    refused_ids = {event_id for event_id, _ in refused}
    assert not refused_ids & set(delivered.landed.copies)


def test_sent_at_lets_the_platform_recover_the_true_time_of_batched_events(
    delivered: Delivered,
) -> None:
    starts = {s["session_id"]: ts(s["start"]) for s in read_csv(delivered.truth_dir / SESSIONS)}
    drift = {
        p["user_id"]: float(p["clock_drift_sec_per_day"])
        for p in read_csv(delivered.truth_dir / PLAYERS)
    }
    offsets = {
        p["user_id"]: abs(float(p["clock_offset_sec"]))
        for p in read_csv(delivered.truth_dir / PLAYERS)
    }
    checked = skewed = 0
    for line in delivered.landed.first_copies():
        event = line["event"]
        if event["event_name"] != "session_start" or line["sent_at"] is None:
            continue
        error = abs(event_at(line) - starts[event["session_id"]])
        # sent_at is read when the frame really leaves; a drifting clock moves a little between
        # the session and its (possibly offline) delivery, at most 2 minutes a day for half a day.
        allowed = timedelta(seconds=2 if drift[event["user_id"]] == 0 else 62)
        assert error < allowed, (line, error)
        checked += 1
        skewed += offsets[event["user_id"]] > 60
    assert checked > 500 and skewed > 20


def test_a_wrong_token_stops_the_run_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_ingestor(tmp_path / "data", token=TOKEN) as ing:
        argv = ["simulate", "--players", "3", "--days", "2", "--start", "2026-01-01"]
        argv += ["--url", ing.url, "--token", "wrong", "--truth-dir", str(tmp_path / "truth")]
        assert main([*argv, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "--token" in err
