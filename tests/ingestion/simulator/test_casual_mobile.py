"""The casual-mobile profile looks like casual mobile play logs, and the oracle's truth file
scores new players better than any simple rule.

The statistics are measured on 4,000 players over 60 days (the figures are in the docstring of
ingestion/simulator/profiles.py) and pinned here with bands a little wider than their spread
across seeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ingestion.simulator.config import FaultRates, SimConfig
from ingestion.simulator.to_landing import run_to_landing
from tests.ingestion.simulator.truth_frames import (
    DAY,
    Truth,
    new_player_snapshots,
    read_truth,
)

START = date(2026, 1, 5)


@dataclass
class Simulated:
    cfg: SimConfig
    truth: Truth
    end: pd.Timestamp


def simulate(tmp: Path, cfg: SimConfig) -> Simulated:
    run_to_landing(cfg, tmp / "landing", tmp / "truth", workers=1, show_progress=False)
    end = pd.Timestamp(cfg.start, tz="UTC") + cfg.days * DAY
    return Simulated(cfg, read_truth(tmp / "truth"), end)


@pytest.fixture(scope="module")
def casual(tmp_path_factory: pytest.TempPathFactory) -> Simulated:
    cfg = SimConfig(
        players=4000,
        days=60,
        start=START,
        seed=1,
        faults=FaultRates.none(),
        profile="casual-mobile",
    )
    return simulate(tmp_path_factory.mktemp("casual"), cfg)


def test_most_new_players_leave_within_days(casual: Simulated) -> None:
    # The new-player setting: observe 5 days after the first play; churn = no play in the next 10.
    snapshots = new_player_snapshots(casual.truth, 5, 10, casual.end)
    assert len(snapshots) > 2500
    assert 0.90 <= snapshots["churned"].mean() <= 0.94


def test_a_median_of_two_sessions_and_a_long_tail(casual: Simulated) -> None:
    p = casual.truth.players
    settled = p[p["install_at"] + 15 * DAY <= casual.end]  # not cut short by the period's end
    sessions = settled["sessions"]
    assert sessions.median() == 2
    assert 0.35 <= (sessions == 1).mean() <= 0.49
    assert sessions.quantile(0.99) >= 10 and sessions.max() >= 30
    span = casual.truth.sessions.groupby("player_index")["start"].agg(lambda s: s.max() - s.min())
    assert (span > 30 * DAY).sum() >= 20  # some stay for months


def test_plays_are_minutes_apart_in_sessions_of_a_few_plays(casual: Simulated) -> None:
    s = casual.truth.sessions
    assert s["matches"].median() == 2
    assert 2.0 <= s["matches"].mean() <= 2.7
    # Minutes between plays: session length over the plays in it, for sessions of 2+ plays.
    several = s[s["matches"] >= 2]
    minutes = (several["end"] - several["start"]) / pd.Timedelta(minutes=1) / several["matches"]
    assert 1.5 <= minutes.median() <= 5.0
    gaps = s.sort_values(["player_index", "start"]).groupby("player_index")["start"].diff()
    hours = gaps.dropna() / pd.Timedelta(hours=1)
    assert 6 <= hours.median() <= 18


def test_installs_are_spread_over_the_whole_period(casual: Simulated) -> None:
    install_day = (casual.truth.players["install_at"].dt.floor("D") - casual.end + 60 * DAY) / DAY
    per_fortnight = np.histogram(install_day, bins=4, range=(0, 60))[0] / len(install_day)
    assert per_fortnight.min() >= 0.18


def test_nobody_starts_a_session_in_the_small_hours(casual: Simulated) -> None:
    s = casual.truth.sessions.merge(casual.truth.players[["player_index", "tz_hours"]])
    local = (s["start"] + pd.to_timedelta(s["tz_hours"], unit="h")).dt.hour
    assert ((local >= 2) & (local < 7)).mean() < 0.01


def auc(label: pd.Series, score: pd.Series) -> float:
    return float(roc_auc_score(label, score))


@pytest.mark.parametrize("observe", [1, 5])
def test_the_oracle_beats_every_simple_rule_in_the_new_player_setting(
    casual: Simulated, observe: int
) -> None:
    p = new_player_snapshots(casual.truth, observe, 10, casual.end)
    oracle = auc(p["churned"], p["oracle"])
    rules = {
        "hours since the last session": auc(p["churned"], p["hours_since_last"]),
        "fewer sessions": auc(p["churned"], -p["sessions"]),
        "fewer plays": auc(p["churned"], -p["plays"]),
    }
    print(f"observe {observe} days: oracle AUC {oracle:.3f}; rules {rules}")
    assert oracle >= max(rules.values()) + 0.01
    # There is signal beyond recency: the rhythm of play tells the oracle more.
    assert oracle >= rules["hours since the last session"] + 0.02


def test_the_oracle_has_a_row_per_player_and_day_from_install_to_the_end(
    casual: Simulated,
) -> None:
    o, p = casual.truth.oracle, casual.truth.players
    first = o.groupby("player_index")["date"].min()
    installed = p.set_index("player_index")["install_at"].dt.floor("D")
    assert (first == installed.loc[first.index]).all()
    per_player = o.groupby("player_index").size()
    days_left = (casual.end - installed.loc[per_player.index]) / DAY
    assert (per_player == days_left.astype(int)).all()
    assert o["tenure_days"].min() == 0
    values = o[["p_gone", "p_quiet_7d", "p_quiet_10d", "p_quiet_14d"]]
    assert ((values >= 0) & (values <= 1)).all().all()
    assert (o["p_quiet_7d"] >= o["p_quiet_14d"]).all()
