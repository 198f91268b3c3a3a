"""`respawn simulate`: flags, the landing layout of --to-landing, the truth files, the summary."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ingestion.landing.layout import Stream, published_shards, shard_day
from ingestion.simulator.command import build_config
from ingestion.simulator.config import FaultRates
from ingestion.simulator.truth import HEADERS, PLAYERS, SUMMARY, read_csv
from orchestration.cli import build_parser, main


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["simulate", *argv])


def test_to_landing_fills_one_partition_per_day_and_writes_truth_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = tmp_path / "landing"
    argv = ["simulate", "--players", "40", "--days", "3", "--start", "2026-02-01"]
    argv += ["--to-landing", str(landing), "--no-progress", "--malformed-rate", "0.05"]
    assert main(argv) == 0
    days = sorted({shard_day(p).isoformat() for p in published_shards(landing, Stream.EVENTS)})
    assert days == ["2026-02-01", "2026-02-02", "2026-02-03"]
    assert published_shards(landing, Stream.DEADLETTER)
    assert not list(landing.rglob("*.inflight"))
    truth = tmp_path / "truth"
    for name, columns in HEADERS.items():
        assert (truth / name).read_text().splitlines()[0] == ",".join(columns)
    assert len(read_csv(truth / PLAYERS)) == 40
    summary = orjson.loads((truth / SUMMARY).read_bytes())
    assert summary["mode"] == "landing" and summary["counts"]["players"] == 40
    landed = sum(1 for p in published_shards(landing, Stream.EVENTS) for _ in p.open("rb"))
    assert summary["counts"]["landed_lines"] == landed
    out = capsys.readouterr().out
    assert "simulated 40 players" in out and f"landed {landed:,} event lines" in out


def test_faults_are_on_by_default_and_no_faults_turns_them_all_off() -> None:
    assert build_config(parse()).faults == FaultRates()
    assert build_config(parse("--no-faults")).faults == FaultRates.none()
    some = build_config(parse("--no-faults", "--duplicate-rate", "0.1", "--rollout-at", "0.5"))
    assert some.faults.duplicate == 0.1 and some.faults.rollout_at == 0.5
    assert some.faults.offline == 0.0
    assert build_config(parse("--rollout-at", "none")).faults.rollout_at is None


def test_the_period_ends_today_by_default() -> None:
    cfg = build_config(parse("--days", "10"))
    assert cfg.start == datetime.now(UTC).date() - timedelta(days=10)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--offline-rate", "1.5"], "not a rate between 0 and 1"),
        (["--start", "yesterday"], "is not a date"),
    ],
)
def test_bad_flags_say_what_is_wrong(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_impossible_population_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--players", "0", "--to-landing", "unused"]) == 2
    assert "--players must be at least 1" in capsys.readouterr().err
