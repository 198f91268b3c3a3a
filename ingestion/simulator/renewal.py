"""The `casual-mobile` profile's schedule: after each session the player either leaves or comes
back after a gap, both driven by a latent habit.

- **Habit** `h` starts a little below log(engagement) and moves after every session towards the
  player's own level (log(engagement) plus a hidden hook: some players get hooked, others drift
  away), up with wins, down with frustration, plus noise; it stays within [HABIT_MIN, HABIT_MAX].
  A stronger habit means more plays per session, shorter gaps and a lower chance to leave, so
  the risk shows in the rhythm of play (gaps, plays per session and their trend, first-day
  activity) and not only in the time since the last session.
- **Leaving**: right after session k the player leaves with probability
  `sigmoid(LEAVE_BASE - LEAVE_HABIT * h + LEAVE_FRUSTRATION * F + LEAVE_FADING * (1 - interest)
  - LEAVE_TENURE * min(k, 10))`, F the frustration at the session's end.
- **Gap** to the next session: log-normal in hours, `ln(GAP_MEDIAN_HOURS) - GAP_HABIT * h` and
  sigma `GAP_SIGMA`; a start that falls in the player's night (local 01:00 to 09:00) is moved,
  keeping the order, into the morning (07:00 to 09:00): `night_shift`.
- **Returns**: a share of the first leavers come back after `RETURN_MIN_DAYS` plus an
  exponential wait, with a weaker habit and no frustration; a second leave is final.

Frustration cools between sessions as in `daily` (by `NIGHT_COOLING` a day, continuously). All
players advance together, one session at a time. The oracle (`oracle`) uses the recorded state
after each session (`Record`) to compute the true probability of being gone or quiet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingestion.simulator.daily import (
    END_MARGIN_MS,
    NIGHT_COOLING,
    RETURN_MIN_DAYS,
    Churns,
    interest_at,
)
from ingestion.simulator.draws import counter, normal, uniform
from ingestion.simulator.events import DAY_MS, HOUR_MS
from ingestion.simulator.sessions import INVITE, LOBBY, MATCHMAKING, Run, play_sessions, sigmoid

HOOK_SD = 0.8  # spread of the hidden hook: the habit level a player tends to
HABIT_START = -0.3  # new players start this far below log(engagement)
HABIT_PULL = 0.25  # share of the distance to the player's level closed after each session
HABIT_MIN, HABIT_MAX = -3.0, 2.2
HABIT_WIN = 0.06  # habit gained per win minus loss of a session
HABIT_FRUSTRATION = 0.25  # habit lost per unit of frustration at the session's end
HABIT_NOISE = 0.25
APPETITE_HABIT = 0.3  # plays per session scale as exp(APPETITE_HABIT * h)
LEAVE_BASE = -0.68
LEAVE_HABIT = 1.4
LEAVE_FRUSTRATION = 1.2
LEAVE_FADING = 1.0
LEAVE_TENURE = 0.04
GAP_MEDIAN_HOURS = 16.0
GAP_HABIT = 0.9
GAP_SIGMA = 1.0
RETURN_SHARE = 0.10
RETURN_MEAN_EXTRA_DAYS = 10.0
RETURN_HABIT_LOSS = 0.5
NIGHT_FROM, MORNING, DAY_FROM = 1.0, 7.0, 9.0  # local hours: [1, 9) is moved into [7, 9)

# Draw slots of the schedule (counter major = the player's session number, minor 1 << 15).
_MINOR = 1 << 15
_HOOK, _HABIT, _LEAVE, _GAP, _RETURN, _RETURN_WAIT, _SOCIAL, _LOBBY, _INSTALL = (
    0, 2, 4, 5, 6, 7, 8, 9, 10,
)  # fmt: skip
DRIVER_FADING = 4  # index of "fading_interest" in daily.DRIVERS


@dataclass
class Record:
    """The state right after each kept session (one row per session, book order), as the
    oracle needs it: when it ended, the chance to leave then, the next gap's law and whether
    a leave could still be followed by a return."""

    player: np.ndarray
    start: np.ndarray  # ms
    end: np.ndarray  # ms
    p_leave: np.ndarray
    gap_mu: np.ndarray  # ln hours
    can_return: np.ndarray  # bool: a first leave (a return may follow)


def night_shift(t_ms: np.ndarray, tz_hours: np.ndarray) -> np.ndarray:
    """Move starts in the local night [01:00, 09:00) into [07:00, 09:00), keeping their order."""
    local = t_ms + (tz_hours * HOUR_MS).astype(np.int64)
    hour = (local % DAY_MS) / HOUR_MS
    night = (hour >= NIGHT_FROM) & (hour < DAY_FROM)
    span = DAY_FROM - MORNING
    moved = MORNING + (hour - NIGHT_FROM) * span / (DAY_FROM - NIGHT_FROM)
    shift = ((moved - hour) * HOUR_MS).astype(np.int64)
    return np.where(night, t_ms + shift, t_ms)


def latest_raw(t_ms: np.ndarray, tz_hours: np.ndarray) -> np.ndarray:
    """The latest raw time whose `night_shift` is at or before `t_ms`: a start is after
    `t_ms` exactly when its raw time is after this."""
    local = t_ms + (tz_hours * HOUR_MS).astype(np.int64)
    hour = (local % DAY_MS) / HOUR_MS
    night_start = t_ms - ((hour - NIGHT_FROM) * HOUR_MS).astype(np.int64)
    in_morning = (hour >= MORNING) & (hour < DAY_FROM)
    before_morning = (hour >= NIGHT_FROM) & (hour < MORNING)
    ratio = (DAY_FROM - NIGHT_FROM) / (DAY_FROM - MORNING)
    raw_morning = night_start + ((hour - MORNING) * ratio * HOUR_MS).astype(np.int64)
    return np.where(in_morning, raw_morning, np.where(before_morning, night_start, t_ms))


def simulate_renewal(run: Run) -> tuple[np.ndarray, Churns, Record]:
    """Session after session until each player leaves or the period ends: (install times,
    churns, the state after each session)."""
    pl, pop, profile, book = run.state, run.population, run.profile, run.book
    start_ms, days = run.start_ms, run.days
    n = len(pl.keys)
    keys = pl.keys
    end_ms = start_ms + days * DAY_MS
    tz = pop["tz_hours"]
    day0 = start_ms + pop["install_day"] * DAY_MS
    clock = ((pop["peak_hour"] - tz) % 24.0 * HOUR_MS).astype(np.int64)
    jitter = ((uniform(keys, counter(0, _MINOR, _INSTALL)) - 0.5) * 4 * HOUR_MS).astype(np.int64)
    install_ms = np.clip(day0 + (clock + jitter) % DAY_MS, day0, day0 + DAY_MS - HOUR_MS)
    level = np.log(pop["engagement"]) + HOOK_SD * normal(keys, 0, _MINOR, _HOOK)
    habit = np.log(pop["engagement"]) + HABIT_START
    next_start = install_ms.copy()
    returning = np.zeros(n, dtype=bool)
    churn_count = np.zeros(n, dtype=np.int64)
    last_end = np.zeros(n, dtype=np.int64)
    last_row = np.full(n, -1, dtype=np.int64)
    open_churn = np.full(n, -1, dtype=np.int64)
    active = np.arange(n)
    c_rows: list[tuple[int, int, int, int]] = []  # player, last session, decided ms, driver
    c_return: list[int] = []
    r_player, r_start, r_end, r_p, r_mu, r_ret = [], [], [], [], [], []
    while active.size:
        rows = active
        kr = keys[rows]
        number = pl.sessions_played[rows]
        # Frustration cools with the time since the last session.
        away_days = np.where(last_row[rows] >= 0, (next_start[rows] - last_end[rows]) / DAY_MS, 0)
        pl.frustration[rows] *= (NIGHT_COOLING**away_days)[:, None]
        social = pop["sociability"][rows] + np.where(returning[rows], 0.35, 0.0)
        entry = np.where(
            uniform(kr, counter(number, _MINOR, _SOCIAL)) < social,
            INVITE,
            np.where(uniform(kr, counter(number, _MINOR, _LOBBY)) < 0.6, MATCHMAKING, LOBBY),
        )
        scale = np.exp(APPETITE_HABIT * habit[rows])
        srow, ends = play_sessions(pl, profile, rows, next_start[rows], entry, book, scale)
        late = ends >= end_ms - END_MARGIN_MS  # would not end inside the period: never was
        book.drop(srow[late])
        ok = ~late
        starts = next_start[rows][ok]
        rows, srow, ends, number = rows[ok], srow[ok], ends[ok], number[ok]
        kr = keys[rows]
        back = returning[rows]
        for ci, sr in zip(open_churn[rows[back]].tolist(), srow[back].tolist(), strict=True):
            c_return[ci] = sr
        open_churn[rows[back]] = -1
        returning[rows] = False
        last_end[rows], last_row[rows] = ends, srow
        # The session's outcome moves the habit; then the player leaves or picks the next start.
        s_wins = book.sessions.parts["wins"][-1][ok]
        s_losses = book.sessions.parts["losses"][-1][ok]
        frustration = pl.frustration[rows].sum(axis=1)
        habit[rows] += (
            HABIT_PULL * (level[rows] - habit[rows])
            + HABIT_WIN * (s_wins - s_losses)
            - HABIT_FRUSTRATION * frustration
            + HABIT_NOISE * normal(kr, number, _MINOR, _HABIT)
        )
        habit[rows] = np.clip(habit[rows], HABIT_MIN, HABIT_MAX)
        h = habit[rows]
        tenure = (ends - install_ms[rows]) / DAY_MS
        interest = interest_at(tenure, pop["interest_days"][rows])
        fading = LEAVE_FADING * (1.0 - interest) - LEAVE_HABIT * h
        logit = (
            LEAVE_BASE
            + LEAVE_FRUSTRATION * frustration
            + fading
            - LEAVE_TENURE * np.minimum(number, 10)
        )
        p_leave = sigmoid(logit)
        mu = np.log(GAP_MEDIAN_HOURS) - GAP_HABIT * h
        first_life = churn_count[rows] == 0
        r_player.append(rows)
        r_start.append(starts)
        r_end.append(ends)
        r_p.append(p_leave)
        r_mu.append(mu)
        r_ret.append(first_life)
        leaves = uniform(kr, counter(number, _MINOR, _LEAVE)) < p_leave
        gap_hours = np.exp(mu + GAP_SIGMA * normal(kr, number, _MINOR, _GAP))
        following = night_shift(ends + (gap_hours * HOUR_MS).astype(np.int64), tz[rows])
        # Who leaves: the frustration part that weighs most, or the habit fading.
        parts = np.column_stack([LEAVE_FRUSTRATION * pl.frustration[rows], np.maximum(fading, 0.0)])
        drivers = np.where(parts.max(axis=1) > 0, parts.argmax(axis=1), DRIVER_FADING)
        comes_back = (
            leaves & first_life & (uniform(kr, counter(number, _MINOR, _RETURN)) < RETURN_SHARE)
        )
        wait_days = RETURN_MIN_DAYS - RETURN_MEAN_EXTRA_DAYS * np.log1p(
            -uniform(kr, counter(number, _MINOR, _RETURN_WAIT))
        )
        back_at = night_shift(ends + (wait_days * DAY_MS).astype(np.int64), tz[rows])
        for j in np.flatnonzero(leaves).tolist():
            player = int(rows[j])
            c_rows.append((player, int(srow[j]), int(ends[j]), int(drivers[j])))
            c_return.append(-1)
            if comes_back[j]:
                open_churn[player] = len(c_rows) - 1
        churn_count[rows[leaves]] += 1
        back_rows = rows[comes_back]
        habit[back_rows] -= RETURN_HABIT_LOSS
        pl.frustration[back_rows] = 0.0
        returning[back_rows] = True
        next_start[rows] = np.where(comes_back, back_at, following)
        stays = ~leaves | comes_back
        active = rows[stays & (next_start[rows] < end_ms)]
    cat = np.concatenate
    record = Record(*(cat(c) for c in (r_player, r_start, r_end, r_p, r_mu, r_ret)))
    table = np.array(c_rows, dtype=np.int64).reshape(-1, 4)
    order = np.lexsort((table[:, 2], table[:, 0]))
    churns = Churns(
        table[order, 0],
        table[order, 1],
        table[order, 2],
        table[order, 3],
        np.array(c_return, dtype=np.int64)[order],
    )
    return install_ms, churns, record
