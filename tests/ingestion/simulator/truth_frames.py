"""The simulator's truth files as pandas frames, and the new-player setting computed from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ingestion.simulator.truth import ORACLE, PLAYERS, SESSIONS

DAY = pd.Timedelta(days=1)


@dataclass
class Truth:
    players: pd.DataFrame
    sessions: pd.DataFrame
    oracle: pd.DataFrame


def read_truth(truth_dir: Path) -> Truth:
    players = pd.read_csv(truth_dir / PLAYERS)
    players["install_at"] = pd.to_datetime(players["install_at"])
    sessions = pd.read_csv(truth_dir / SESSIONS)
    for column in ("start", "end"):
        sessions[column] = pd.to_datetime(sessions[column])
    sessions = sessions.merge(players[["user_id", "player_index"]], on="user_id")
    oracle = pd.read_csv(truth_dir / ORACLE, parse_dates=["date"])
    oracle["date"] = oracle["date"].dt.tz_localize("UTC")
    return Truth(players, sessions, oracle)


def quiet_label(truth: Truth, rows: pd.DataFrame, snapshot: pd.Series, days: int) -> np.ndarray:
    """1 when the player of each row starts no session in (snapshot, snapshot + days]."""
    starts = truth.sessions[["player_index", "start"]]
    keyed = pd.DataFrame({"player_index": rows["player_index"].to_numpy(), "at": snapshot})
    keyed["row"] = np.arange(len(keyed))
    joined = keyed.merge(starts, on="player_index")
    inside = (joined["start"] > joined["at"]) & (joined["start"] <= joined["at"] + days * DAY)
    played = np.zeros(len(keyed), dtype=bool)
    played[joined.loc[inside, "row"].to_numpy()] = True
    return (~played).astype(int)


def new_player_snapshots(truth: Truth, observe_days: int, horizon_days: int, end: pd.Timestamp):
    """The new-player setting: each player scored at the end of install date + observe - 1 (so
    the snapshot sees `observe_days` dates of play), churn = no session in the next
    `horizon_days`; players whose window passes the period's end are left out. Columns:
    player_index, snapshot, churned, oracle (the truth's p_quiet), hours_since_last, sessions,
    plays (both up to the snapshot)."""
    p = truth.players[["player_index", "install_at"]].copy()
    p["snapshot"] = p["install_at"].dt.floor("D") + observe_days * DAY
    p = p[p["snapshot"] + horizon_days * DAY <= end].reset_index(drop=True)
    p["churned"] = quiet_label(truth, p, p["snapshot"].to_numpy(), horizon_days)
    day = p["snapshot"] - DAY
    o = truth.oracle.rename(columns={"date": "day"})
    p = p.assign(day=day).merge(
        o[["player_index", "day", f"p_quiet_{horizon_days}d"]], on=["player_index", "day"]
    )
    p = p.rename(columns={f"p_quiet_{horizon_days}d": "oracle"})
    s = truth.sessions.merge(p[["player_index", "snapshot"]], on="player_index")
    s = s[s["start"] <= s["snapshot"]]
    seen = s.groupby("player_index").agg(
        last=("start", "max"), sessions=("start", "size"), plays=("matches", "sum")
    )
    p = p.merge(seen, on="player_index")
    p["hours_since_last"] = (p["snapshot"] - p["last"]) / pd.Timedelta(hours=1)
    return p
