"""`respawn scores`: segments of the latest export, printed and written as CSV, from the export
alone: it runs while another process holds the warehouse's write lock."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingestion.settings import warehouse_path
from orchestration.exports.layout import ExportFiles
from orchestration.exports.segments import RECENT_DAYS

RESPAWN = str(Path(sys.executable).with_name("respawn"))
_HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: DuckDB's exclusive file lock
print("locked", flush=True)
time.sleep(120)
"""


@contextlib.contextmanager
def warehouse_locked(home: Path) -> Iterator[None]:
    """Another process holds the warehouse open for writing (as a Dagster step would)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(warehouse_path(home))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(warehouse_path(home)), read_only=True)
        yield
    finally:
        holder.kill()
        holder.wait()


def scores_command(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RESPAWN, "scores", *args],
        env={**os.environ, "RESPAWN_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scores_prints_tiers_tenure_and_high_risk_recent_players_while_the_warehouse_is_locked(
    home: Path, exported: ExportFiles
) -> None:
    scores = pd.read_parquet(exported.scores_parquet)
    high_recent = scores[
        (scores["risk_tier"] == "High") & (scores["days_since_last_session"] < RECENT_DAYS)
    ]
    with warehouse_locked(home):
        started = time.monotonic()
        done = scores_command(home)
        assert time.monotonic() - started < 60
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"{len(scores):,} players" in out
    assert "By tier:" in out and "By tenure:" in out and "first week (0-6 days)" in out
    high = int((scores["risk_tier"] == "High").sum())
    assert f"| High | {high:,} |" in out
    title = f"High risk, played in the last {RECENT_DAYS} days: {len(high_recent):,} players"
    assert title in out
    top = high_recent.sort_values("churn_probability", ascending=False, kind="stable")
    assert top["user_id"].iloc[0] in out

    written = pd.read_csv(exported.segments / f"high-risk-played-within-{RECENT_DAYS}d.csv")
    assert sorted(written["user_id"]) == sorted(high_recent["user_id"])
    for tier in ("High", "Medium", "Low"):
        segment = pd.read_csv(exported.segments / f"tier-{tier.lower()}.csv")
        assert len(segment) == int((scores["risk_tier"] == tier).sum())
    bands = [pd.read_csv(p) for p in sorted(exported.segments.glob("tenure-*.csv"))]
    assert len(bands) == 3 and sum(len(b) for b in bands) == len(scores)


def test_scores_with_filters_prints_and_writes_that_one_segment(
    home: Path, exported: ExportFiles, tmp_path: Path
) -> None:
    out_dir = tmp_path / "segments"
    done = scores_command(
        home, "--tier", "Medium", "--tier", "High", "--played-within", "7", "--out", str(out_dir)
    )
    assert done.returncode == 0, done.stderr
    scores = pd.read_parquet(exported.scores_parquet)
    expected = scores[
        scores["risk_tier"].isin(["High", "Medium"]) & (scores["days_since_last_session"] < 7)
    ]
    assert f"High or Medium risk, played in the last 7 days: {len(expected):,} players" in (
        done.stdout
    )
    [written] = list(out_dir.glob("*.csv"))
    assert written.name == "high-medium-risk-played-within-7d.csv"
    frame = pd.read_csv(written)
    assert sorted(frame["user_id"]) == sorted(expected["user_id"])
    assert frame["churn_probability"].is_monotonic_decreasing
    assert not exported.segments.exists()  # --out: nothing written into the export


def test_scores_without_an_export_says_how_to_make_one(home: Path) -> None:
    done = scores_command(home)
    assert done.returncode == 1
    assert "no export at" in done.stderr and "make demo" in done.stderr


def test_scores_cuts_by_tenure_band_and_refuses_a_band_or_tier_it_does_not_know(
    home: Path, exported: ExportFiles
) -> None:
    done = scores_command(home, "--tenure", "first month")
    assert done.returncode == 0, done.stderr
    scores = pd.read_parquet(exported.scores_parquet)
    band = scores[scores["tenure_days"].between(7, 29)]
    assert f"all players, tenure first month: {len(band):,} players" in done.stdout
    assert len(pd.read_csv(exported.segments / "all-players-tenure-first-month.csv")) == len(band)
    for flag, value in (("--tenure", "first year"), ("--tier", "Extreme")):
        refused = scores_command(home, flag, value)
        assert refused.returncode == 2 and "choose from" in refused.stderr
