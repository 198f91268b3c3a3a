"""Generated churn feature and label frames with a planted, known signal.

Test scaffolding, outside the product: the ML tests and `benchmarks/ml.py` need feature tables
long before (and independently of) the dbt models, and they need to know the truth. This module
simulates players day by day: they play sessions and matches, lose, rage-quit, and quit the game
for good with a hazard driven by planted causes (rage quits while losing, long loss streaks, low
engagement). Features at `d` use only days up to `d` and labels follow the dbt contract
(`churned` = no session in `(d, d + horizon]`, censored when that window passes the last
simulated day), so leakage and censoring behave like the real tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from ml.feature_contract import (
    FEATURES_TABLE,
    LABELS_TABLE,
    SCALAR_FEATURES,
    WINDOWED_BASES,
    WINDOWS,
    windowed_feature,
)
from ml.new_players import SESSIONS_TABLE

_COUNT_BASES = (
    "sessions",
    "matches",
    "wins",
    "losses",
    "rage_quits",
    "disconnects_network",
    "disconnects_quit",
    "disconnects_crash",
    "bot_matches",
    "minutes_played",
    "entry_lobby",
    "entry_matchmaking",
    "entry_invite",
)


@dataclass(frozen=True)
class SyntheticData:
    features: pd.DataFrame  # one row per eligible (user_id, snapshot_date), contract columns
    labels: pd.DataFrame  # the churn_labels contract, same keys as features
    truth: pd.DataFrame  # (user_id, snapshot_date, quits_within_horizon): the simulator's truth
    # (user_id, started_at): every simulated session, warm-up days included, as marts.fct_sessions
    # holds them (the new-player evaluation labels from their start times)
    sessions: pd.DataFrame | None = None


@dataclass(frozen=True)
class _History:
    daily: dict[str, np.ndarray]  # base -> (users, days) counts per day
    day_streak: np.ndarray  # longest loss run touching each day
    end_streak: np.ndarray  # loss streak at the end of each day
    last_active: np.ndarray  # last day with a session, as of the end of each day (-1: none)
    gap_sum: np.ndarray
    gap_count: np.ndarray
    gap_max: np.ndarray
    join_day: np.ndarray
    quit_day: np.ndarray  # day the player quit for good (n_days when never)
    gap_fraction: np.ndarray  # sub-day part of the current gap, per (user, day)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _simulate(n_users: int, n_days: int, signal: float, rng: np.random.Generator) -> _History:
    """Play every user through every day; vectorized over users, one step per day."""
    join_day = rng.integers(0, max(1, int(n_days * 0.7)), size=n_users)
    rate = rng.lognormal(mean=np.log(0.7), sigma=0.6, size=n_users)  # sessions per day
    skill = rng.uniform(0.3, 0.7, size=n_users)
    tilt = rng.beta(1.0, 5.0, size=n_users)  # chance that a loss ends in a rage quit
    bot_pref = rng.beta(2.0, 5.0, size=n_users)
    entry_pref = rng.dirichlet([2.0, 2.0, 1.0], size=n_users)

    shape = (n_users, n_days)
    daily = {base: np.zeros(shape, dtype=np.int32) for base in _COUNT_BASES}
    day_streak = np.zeros(shape, dtype=np.int32)
    end_streak = np.zeros(shape, dtype=np.int32)
    last_active_d = np.full(shape, -1, dtype=np.int32)
    gap_sum_d = np.zeros(shape, dtype=np.float32)
    gap_count_d = np.zeros(shape, dtype=np.int32)
    gap_max_d = np.zeros(shape, dtype=np.float32)

    alive = np.ones(n_users, dtype=bool)
    quit_day = np.full(n_users, n_days, dtype=np.int32)
    streak = np.zeros(n_users, dtype=np.int32)
    rage_recent = np.zeros(n_users)
    loss_recent = np.zeros(n_users)
    match_recent = np.zeros(n_users)
    last_active = np.full(n_users, -1, dtype=np.int32)
    gap_sum = np.zeros(n_users)
    gap_count = np.zeros(n_users, dtype=np.int32)
    gap_max = np.zeros(n_users)

    for day in range(n_days):
        playing = alive & (join_day <= day)
        weekend = 1.3 if day % 7 in (5, 6) else 1.0
        sessions = np.where(playing, rng.poisson(rate * weekend), 0)
        sessions[playing & (join_day == day)] = np.maximum(sessions[playing & (join_day == day)], 1)
        matches = np.where(sessions > 0, sessions + rng.poisson(1.5 * sessions), 0)
        wins = rng.binomial(matches, skill)
        losses = matches - wins
        rage = rng.binomial(losses, tilt)
        bots = rng.binomial(matches, bot_pref)
        minutes = np.round(matches * rng.uniform(5.0, 12.0, n_users) + 3.0 * sessions, 1)
        # Multinomial split of sessions by entry point, as two binomials (vectorized).
        lobby = rng.binomial(sessions, entry_pref[:, 0])
        rest = np.clip(entry_pref[:, 1] / np.maximum(1.0 - entry_pref[:, 0], 1e-9), 0.0, 1.0)
        matchmaking = rng.binomial(sessions - lobby, rest)
        invite = sessions - lobby - matchmaking

        longest = np.where(
            losses == 0,
            0,
            np.where(wins == 0, losses, 1 + rng.binomial(np.maximum(losses - 1, 0), 0.35)),
        )
        trailing = rng.binomial(losses, 0.4)
        streak = np.where(matches == 0, streak, np.where(wins == 0, streak + losses, trailing))
        longest = np.maximum(longest, np.where(matches > 0, streak, 0))

        active = sessions > 0
        had_gap = active & (last_active >= 0)
        gap = day - last_active
        gap_sum = np.where(had_gap, gap_sum + gap, gap_sum)
        gap_count = np.where(had_gap, gap_count + 1, gap_count)
        gap_max = np.where(had_gap, np.maximum(gap_max, gap), gap_max)
        last_active = np.where(active, day, last_active)

        values = {
            "sessions": sessions,
            "matches": matches,
            "wins": wins,
            "losses": losses,
            "rage_quits": rage,
            "disconnects_network": rng.poisson(0.08 * sessions),
            "disconnects_quit": rage + rng.poisson(0.05 * sessions),
            "disconnects_crash": rng.poisson(0.03 * sessions),
            "bot_matches": bots,
            "minutes_played": minutes,
            "entry_lobby": lobby,
            "entry_matchmaking": matchmaking,
            "entry_invite": invite,
        }
        for base, value in values.items():
            daily[base][:, day] = value
        day_streak[:, day] = longest
        end_streak[:, day] = streak
        last_active_d[:, day] = last_active
        gap_sum_d[:, day] = gap_sum
        gap_count_d[:, day] = gap_count
        gap_max_d[:, day] = gap_max

        # The planted causes: rage quits while mostly losing, long loss streaks, low engagement.
        rage_recent = 0.7 * rage_recent + rage
        loss_recent = 0.7 * loss_recent + losses
        match_recent = 0.7 * match_recent + matches
        losing = loss_recent > 0.6 * np.maximum(match_recent, 1e-9)
        logit = (
            -5.2
            + signal * (1.2 * np.minimum(rage_recent, 3.0) * losing + 1.0 * (streak >= 4))
            - 0.6 * np.log(rate / 0.7)
        )
        quits = playing & (rng.random(n_users) < _sigmoid(logit))
        quit_day = np.where(quits, day, quit_day)
        alive &= ~quits

    return _History(
        daily=daily,
        day_streak=day_streak,
        end_streak=end_streak,
        last_active=last_active_d,
        gap_sum=gap_sum_d,
        gap_count=gap_count_d,
        gap_max=gap_max_d,
        join_day=join_day,
        quit_day=quit_day,
        gap_fraction=rng.uniform(0.0, 1.0, size=shape).astype(np.float32),
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (the contract's documented default)."""
    safe = np.where(denominator > 0, denominator, 1)
    return np.where(denominator > 0, numerator / safe, 0.0)


def _hourly_features(
    history: _History, day: int, users: np.ndarray, current_gap: np.ndarray, gap_mean: np.ndarray
) -> dict[str, np.ndarray]:
    """The features at the resolution of the data, as this day-level history can tell them:
    hours from its days, the last session's plays from its last active day, the first hours
    from the join day (the dbt model computes them from real session times)."""
    sessions = history.daily["sessions"][users, : day + 1]
    matches = history.daily["matches"][users, : day + 1]
    sessions_to_date = sessions.sum(axis=1)
    matches_to_date = matches.sum(axis=1)
    last = np.maximum(history.last_active[users, day], 0)
    last_sessions = history.daily["sessions"][users, last]
    per_session_last = _ratio(history.daily["matches"][users, last], last_sessions)
    per_session_to_date = _ratio(matches_to_date, sessions_to_date)
    join = history.join_day[users]

    def first_days(base: str, days: int) -> np.ndarray:
        """The user's count over their first `days` days, as far as the snapshot has seen."""
        total = np.zeros(users.size)
        for offset in range(days):
            at = np.minimum(join + offset, history.daily[base].shape[1] - 1)
            total += np.where(join + offset <= day, history.daily[base][users, at], 0)
        return total

    hours_since = current_gap * 24.0
    gap_hours = gap_mean * 24.0
    return {
        "hours_since_last_session": hours_since,
        "tenure_hours": (day - join) * 24.0 + 12.0,
        "sessions_to_date": sessions_to_date.astype(np.int32),
        "last_session_gap_hours": gap_hours,
        "recent_session_gap_mean_hours": gap_hours,
        "session_gap_trend": np.where(gap_hours > 0, 1.0, 0.0),
        "hours_since_last_session_vs_recent_gap": _ratio(hours_since, gap_hours),
        "matches_last_session": np.round(per_session_last).astype(np.int32),
        "matches_per_session_recent": per_session_last,
        "matches_per_session_to_date": per_session_to_date,
        "matches_per_session_trend": per_session_last - per_session_to_date,
        "sessions_first_1h": np.minimum(sessions_to_date, 1).astype(np.int32),
        "sessions_first_24h": first_days("sessions", 1).astype(np.int32),
        "sessions_first_72h": first_days("sessions", 3).astype(np.int32),
        "matches_first_24h": first_days("matches", 1).astype(np.int32),
        "first_session_matches": np.round(
            _ratio(first_days("matches", 1), first_days("sessions", 1))
        ).astype(np.int32),
        "hours_to_second_session": np.where(sessions_to_date >= 2, gap_hours, 0.0),
    }


def _features_at(history: _History, day: int, users: np.ndarray) -> dict[str, np.ndarray]:
    def window(base: str, days: int) -> np.ndarray:
        lo = max(0, day - days + 1)
        return history.daily[base][users, lo : day + 1].sum(axis=1)

    out: dict[str, np.ndarray] = {}
    for days in WINDOWS:
        counts = {base: window(base, days) for base in _COUNT_BASES}
        lo = max(0, day - days + 1)
        values = {
            "sessions": counts["sessions"],
            "matches": counts["matches"],
            "wins": counts["wins"],
            "losses": counts["losses"],
            "win_rate": _ratio(counts["wins"], counts["matches"]),
            "loss_rate": _ratio(counts["losses"], counts["matches"]),
            "max_loss_streak": history.day_streak[users, lo : day + 1].max(axis=1),
            "rage_quits": counts["rage_quits"],
            "disconnects_network": counts["disconnects_network"],
            "disconnects_quit": counts["disconnects_quit"],
            "disconnects_crash": counts["disconnects_crash"],
            "bot_share": _ratio(counts["bot_matches"], counts["matches"]),
            "minutes_played": counts["minutes_played"],
        }
        for base in WINDOWED_BASES:
            out[windowed_feature(base, days)] = values[base]

    days_since = (day - history.last_active[users, day]).astype(np.int32)
    gap_mean = _ratio(history.gap_sum[users, day], history.gap_count[users, day])
    current_gap = days_since + history.gap_fraction[users, day]
    previous_week = {base: window(base, 14) - window(base, 7) for base in ("sessions", "matches")}
    minutes_prev = window("minutes_played", 14) - window("minutes_played", 7)
    sessions_28 = window("sessions", 28)
    scalars = {
        "days_since_last_session": days_since,
        "gap_mean_days": gap_mean,
        "gap_max_days": history.gap_max[users, day].astype(np.float64),
        "current_gap_days": current_gap.astype(np.float64),
        "current_gap_vs_usual": _ratio(current_gap, gap_mean),
        "sessions_trend_7d": out["sessions_7d"] - previous_week["sessions"],
        "matches_trend_7d": out["matches_7d"] - previous_week["matches"],
        "minutes_trend_7d": out["minutes_played_7d"] - minutes_prev,
        "tenure_days": (day - history.join_day[users]).astype(np.int32),
        "entry_share_lobby_28d": _ratio(window("entry_lobby", 28), sessions_28),
        "entry_share_matchmaking_28d": _ratio(window("entry_matchmaking", 28), sessions_28),
        "entry_share_invite_28d": _ratio(window("entry_invite", 28), sessions_28),
        "current_loss_streak": history.end_streak[users, day],
        **_hourly_features(history, day, users, current_gap, gap_mean),
    }
    assert set(scalars) == set(SCALAR_FEATURES)
    out.update(scalars)
    return out


def user_ids(n_users: int, seed: int) -> np.ndarray:
    """Deterministic UUID strings, like the game's user ids."""
    rng = np.random.default_rng(seed + 7919)
    raw = rng.integers(0, 2**63, size=(n_users, 2), dtype=np.int64)
    return np.array(
        [str(uuid.UUID(int=(int(a) << 64) | int(b), version=4)) for a, b in raw], dtype=object
    )


def generate(
    n_users: int,
    n_days: int,
    *,
    start: date = date(2026, 1, 1),
    horizon_days: int = 14,
    eligibility_days: int = 14,
    signal: float = 1.0,
    seed: int = 0,
    snapshot_days: Iterable[int] | None = None,
    warmup_days: int = 0,
) -> SyntheticData:
    """Simulate `n_users` players over `n_days` days starting at `start`.

    `snapshot_days` (day indexes, default all) limits which snapshot dates get feature rows, so a
    large population can be scored at one date without building every day's features.
    `warmup_days` of play are simulated before `start` without snapshots, so the population is
    already established on the first snapshot date (otherwise the game "launches" on `start`).
    """
    if n_days < 1:
        raise ValueError(f"n_days must be at least 1, got {n_days}")
    rng = np.random.default_rng(seed)
    total_days = warmup_days + n_days
    history = _simulate(n_users, total_days, signal, rng)
    ids = user_ids(n_users, seed)
    last_complete = total_days - 1
    frames, label_frames, truth_frames = [], [], []
    for out_day in sorted(set(snapshot_days if snapshot_days is not None else range(n_days))):
        if not 0 <= out_day < n_days:
            raise ValueError(f"snapshot day {out_day} is outside 0..{n_days - 1}")
        day = out_day + warmup_days
        lo = max(0, day - eligibility_days + 1)
        eligible = np.flatnonzero(history.daily["sessions"][:, lo : day + 1].sum(axis=1) > 0)
        if eligible.size == 0:
            continue
        snapshot = start + timedelta(days=out_day)
        frame = pd.DataFrame(_features_at(history, day, eligible))
        frame.insert(0, "snapshot_date", pd.Timestamp(snapshot))
        frame.insert(0, "user_id", ids[eligible])
        frames.append(frame)

        censored = day + horizon_days > last_complete
        hi = min(total_days, day + horizon_days + 1)
        future = history.daily["sessions"][eligible, day + 1 : hi].sum(axis=1)
        label_frames.append(
            pd.DataFrame(
                {
                    "user_id": ids[eligible],
                    "snapshot_date": pd.Timestamp(snapshot),
                    "churned": pd.array(
                        [None] * eligible.size if censored else (future == 0).tolist(),
                        dtype="boolean",
                    ),
                    "is_censored": censored,
                    "label_horizon_end": pd.Timestamp(snapshot + timedelta(days=horizon_days)),
                }
            )
        )
        truth_frames.append(
            pd.DataFrame(
                {
                    "user_id": ids[eligible],
                    "snapshot_date": pd.Timestamp(snapshot),
                    "quits_within_horizon": history.quit_day[eligible] <= day + horizon_days,
                }
            )
        )
    if not frames:
        raise ValueError("no eligible player in the simulated window; raise n_users or n_days")
    return SyntheticData(
        features=pd.concat(frames, ignore_index=True),
        labels=pd.concat(label_frames, ignore_index=True),
        truth=pd.concat(truth_frames, ignore_index=True),
        sessions=_sessions(history, ids, start - timedelta(days=warmup_days), rng),
    )


def _sessions(
    history: _History, ids: np.ndarray, first_day: date, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per simulated session: its user and a start time within its day."""
    counts = history.daily["sessions"]
    users, days = np.nonzero(counts)
    repeat = counts[users, days]
    users, days = np.repeat(users, repeat), np.repeat(days, repeat)
    offset = rng.uniform(0.0, 86_400.0, size=users.size)
    started = (
        np.datetime64(first_day, "us")
        + days.astype("timedelta64[D]").astype("timedelta64[us]")
        + (offset * 1e6).astype("timedelta64[us]")
    )
    return pd.DataFrame({"user_id": ids[users], "started_at": started}).sort_values(
        ["user_id", "started_at"], ignore_index=True
    )


def write_tables(
    con: duckdb.DuckDBPyConnection,
    data: SyntheticData,
    *,
    features_table: str = FEATURES_TABLE,
    labels_table: str = LABELS_TABLE,
) -> None:
    """(Re)create the two mart tables with the contract's column types, and `marts.fct_sessions`
    (user and start time) when the data has its sessions."""
    features = data.features
    labels = data.labels
    for table in (features_table, labels_table):
        schema = table.split(".")[0]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.register("_synthetic_features", features)
    con.register("_synthetic_labels", labels)
    try:
        casts = ", ".join(
            f'CAST("{column}" AS '
            f"{'INTEGER' if pd.api.types.is_integer_dtype(features[column]) else 'DOUBLE'})"
            f' AS "{column}"'
            for column in features.columns[2:]
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {features_table} AS SELECT CAST(user_id AS VARCHAR) AS "
            f"user_id, CAST(snapshot_date AS DATE) AS snapshot_date, {casts} "
            "FROM _synthetic_features"
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {labels_table} AS SELECT CAST(user_id AS VARCHAR) AS "
            "user_id, CAST(snapshot_date AS DATE) AS snapshot_date, CAST(churned AS BOOLEAN) AS "
            "churned, CAST(is_censored AS BOOLEAN) AS is_censored, "
            "CAST(label_horizon_end AS DATE) AS label_horizon_end FROM _synthetic_labels"
        )
        if data.sessions is not None:
            con.register("_synthetic_sessions", data.sessions)
            con.execute(
                f"CREATE OR REPLACE TABLE {SESSIONS_TABLE} AS SELECT CAST(user_id AS VARCHAR) AS "
                "user_id, CAST(started_at AS TIMESTAMP) AS started_at FROM _synthetic_sessions"
            )
            con.unregister("_synthetic_sessions")
    finally:
        con.unregister("_synthetic_features")
        con.unregister("_synthetic_labels")
