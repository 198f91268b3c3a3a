"""The `default` profile's schedule: day by day, a Poisson number of sessions around each
player's favourite hour, and a churn decision at the end of each day.

Frustration shows in behaviour before it shows in churn: a frustrated player starts fewer sessions
(and `sessions` makes them shorter and angrier). A night's sleep cools frustration. Engagement
fades with tenure. Each day ends with a churn hazard that rises with frustration and fading
interest; once it fires the player emits nothing more, except that a small share come back after
a long absence (the platform must tell "inactive" from "churned").

All players of a chunk advance together, one day at a time; within a day, their first sessions,
then their second ones, and so on, are played as batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingestion.simulator.draws import counter, normal, poisson, uniform
from ingestion.simulator.events import DAY_MS, HOUR_MS
from ingestion.simulator.sessions import (
    INVITE,
    LOBBY,
    MATCHMAKING,
    Run,
    play_sessions,
    sigmoid,
)

NIGHT_COOLING = 0.72  # frustration kept overnight
HAZARD_BASE = -6.0
HAZARD_FRUSTRATION = 2.4
HAZARD_FADING = 1.0
HAZARD_LOW_ENGAGEMENT = 0.5
RETURN_SHARE = 0.15  # share of churners who come back...
RETURN_MIN_DAYS = 15  # ...after at least this long (longer than the 14-day label horizon)
RETURN_MEAN_EXTRA_DAYS = 10.0  # ...plus an exponential wait of this mean, in whole days
SESSIONS_PER_DAY_MAX = 40  # far beyond any Poisson draw here; bounds a day's draws
# Sessions end this long before the period does, so that every delivery fits inside it.
END_MARGIN_MS = 5 * 60_000
DRIVERS = ("losses", "rage_quits", "network", "crashes", "fading_interest")

# Day-level draw slots (counter major = day).
_COUNT, _HAZARD, _RETURN, _RETURN_WAIT, _INSTALL = 0, 1, 2, 3, 4
_HOUR = 8  # two slots; minor = the start's rank that day
_BUSY, _SOCIAL, _LOBBY = 10, 11, 12  # minor = the session's rank that day


@dataclass
class DayTraits:
    """What the daily schedule reads of the players' hidden traits (arrays per player)."""

    engagement: np.ndarray
    interest_days: np.ndarray
    sociability: np.ndarray
    tz_hours: np.ndarray
    peak_hour: np.ndarray


@dataclass
class Churns:
    """Churn decisions: one row each (a player churns at most twice: before and after a return)."""

    player: np.ndarray
    last_session: np.ndarray  # book row of the last session before it
    decided_ms: np.ndarray  # end of the day the hazard fired
    driver: np.ndarray  # index into DRIVERS
    return_session: np.ndarray  # book row of the first session back, -1 when none


@dataclass
class DayRecord:
    """The state at the end of each day with a session (before that day's churn decision), one
    row per (player, day) in that order: what the oracle needs to follow the quiet path."""

    player: np.ndarray
    day: np.ndarray
    frustration: np.ndarray  # total frustration
    engagement: np.ndarray  # current (after any return's loss)
    can_return: np.ndarray  # bool: no churn yet, so a churn may be followed by a return


def interest_at(tenure_days: np.ndarray, interest_days: np.ndarray) -> np.ndarray:
    return 0.35 + 0.65 * np.exp(-tenure_days / interest_days)


def _fading(interest: np.ndarray, engagement: np.ndarray) -> np.ndarray:
    return HAZARD_FADING * (1.0 - interest) + HAZARD_LOW_ENGAGEMENT * np.maximum(
        0.0, 1.0 - engagement
    )


def churn_probability(
    frustration_total: np.ndarray, interest: np.ndarray, engagement: np.ndarray
) -> np.ndarray:
    """The churn hazard at a day's end (engagement: the trait, not its value after a return)."""
    return sigmoid(
        HAZARD_BASE + HAZARD_FRUSTRATION * frustration_total + _fading(interest, engagement)
    )


def hazard_parts(frustration: np.ndarray, interest: np.ndarray, engagement: np.ndarray):
    """(churn probability at the day's end, each driver's part): frustration (players, 4)."""
    parts = np.column_stack([HAZARD_FRUSTRATION * frustration, _fading(interest, engagement)])
    return churn_probability(frustration.sum(axis=1), interest, engagement), parts


def is_weekend(epoch_day: np.ndarray | int) -> np.ndarray:
    return (np.asarray(epoch_day) + 3) % 7 >= 5  # 1970-01-01 was a Thursday


def install_times(
    keys: np.ndarray, tr: DayTraits, install_day: np.ndarray, start_ms: int
) -> np.ndarray:
    """The first session: around the player's favourite hour on the install day."""
    day0 = start_ms + install_day * DAY_MS
    jitter = (uniform(keys, counter(0, 0, _INSTALL)) * (2 * HOUR_MS + 1)).astype(np.int64)
    t = day0 + (((tr.peak_hour - tr.tz_hours) % 24.0) * HOUR_MS).astype(np.int64)
    t += jitter - HOUR_MS
    return np.clip(t, day0, day0 + DAY_MS - HOUR_MS)


def simulate_daily(run: Run) -> tuple[np.ndarray, Churns, DayRecord]:
    """Day by day until the period ends: (install times, churns, the day-end states)."""
    pl, profile, book, start_ms, days = run.state, run.profile, run.book, run.start_ms, run.days
    pop = run.population
    tr = DayTraits(*(pop[name] for name in DayTraits.__dataclass_fields__))
    install_day = pop["install_day"]
    n = len(pl.keys)
    keys = pl.keys
    end_ms = start_ms + days * DAY_MS
    install_ms = install_times(keys, tr, install_day, start_ms)
    engagement = tr.engagement.copy()
    busy_until = np.zeros(n, dtype=np.int64)
    gone = np.zeros(n, dtype=bool)  # churned for good, or stopped at the end of the period
    away_until = np.full(n, -1, dtype=np.int64)  # while churned: the day they come back
    churn_count = np.zeros(n, dtype=np.int64)
    last_session = np.full(n, -1, dtype=np.int64)
    played_on = np.full(n, -1, dtype=np.int64)  # the last day with a session
    open_churn = np.full(n, -1, dtype=np.int64)  # index in the churn lists awaiting a return
    c_player: list[int] = []
    c_last: list[int] = []
    c_decided: list[int] = []
    c_driver: list[int] = []
    c_return: list[int] = []
    epoch_day0 = start_ms // DAY_MS
    records: list[tuple[np.ndarray, ...]] = []
    for day in range(int(install_day.min()) if n else days, days):
        day_start = start_ms + day * DAY_MS
        alive = np.flatnonzero((install_day <= day) & ~gone & (away_until <= day))
        if not alive.size:
            continue
        back = alive[away_until[alive] == day]
        if back.size:
            away_until[back] = -1
            pl.frustration[back] = 0.0
            engagement[back] *= 0.7
        returning = np.zeros(n, dtype=bool)
        returning[back] = True
        ka = keys[alive]
        tenure = day - install_day[alive]
        interest = interest_at(tenure, tr.interest_days[alive])
        lam = engagement[alive] * interest * np.exp(-0.5 * pl.frustration[alive].sum(axis=1))
        if is_weekend(epoch_day0 + day):
            lam = lam * 1.3
        count = np.minimum(poisson(lam, uniform(ka, counter(day, 0, _COUNT))), SESSIONS_PER_DAY_MAX)
        count[returning[alive] & (count == 0)] = 1  # back: at least one session that day
        # Start times: `count` hours around the favourite one, sorted within each player.
        owner = np.repeat(alive, count)
        rank = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
        hours = tr.peak_hour[owner] + 1.8 * normal(keys[owner], day, rank, _HOUR)
        hours = (hours - tr.tz_hours[owner]) % 24.0
        starts = day_start + (hours * HOUR_MS).astype(np.int64)
        on_install = install_day[owner] == day
        keep = ~on_install | (starts > install_ms[owner])
        owner, starts = owner[keep], starts[keep]
        new = alive[install_day[alive] == day]  # the install is the day's first session
        owner = np.concatenate([new, owner])
        starts = np.concatenate([install_ms[new], starts])
        order = np.lexsort((starts, owner))
        owner, starts = owner[order], starts[order]
        first_of = np.r_[True, owner[1:] != owner[:-1]] if owner.size else np.zeros(0, bool)
        rank = np.arange(owner.size) - np.maximum.accumulate(
            np.where(first_of, np.arange(owner.size), 0)
        )
        for slot in range(int(rank.max()) + 1 if rank.size else 0):
            pick = np.flatnonzero(rank == slot)
            rows = owner[pick]
            stay = ~gone[rows]
            rows, planned = rows[stay], starts[pick][stay]
            if not rows.size:
                break
            kr = keys[rows]
            wait = (10 + (uniform(kr, counter(day, slot, _BUSY)) * 81).astype(np.int64)) * 60_000
            begin = np.maximum(planned, np.where(busy_until[rows] > 0, busy_until[rows] + wait, 0))
            social = tr.sociability[rows] + np.where(returning[rows], 0.35, 0.0)
            entry = np.where(
                uniform(kr, counter(day, slot, _SOCIAL)) < social,
                INVITE,
                np.where(uniform(kr, counter(day, slot, _LOBBY)) < 0.6, MATCHMAKING, LOBBY),
            )
            srow, ends = play_sessions(pl, profile, rows, begin, entry, book)
            late = ends >= end_ms - END_MARGIN_MS  # would not end inside the period: never was
            book.drop(srow[late])
            gone[rows[late]] = True
            ok = ~late
            rows, srow, ends = rows[ok], srow[ok], ends[ok]
            came_back = rows[returning[rows]]
            if came_back.size:
                c_return_rows = open_churn[came_back]
                for ci, sr in zip(
                    c_return_rows.tolist(), srow[returning[rows]].tolist(), strict=True
                ):
                    c_return[ci] = sr
                open_churn[came_back] = -1
                returning[came_back] = False
            last_session[rows] = srow
            busy_until[rows] = ends
            played_on[rows] = day
        # The day's end: churn decision, then the night cools frustration.
        alive = alive[~gone[alive]]
        if not alive.size:
            continue
        ka = keys[alive]
        played = alive[played_on[alive] == day]
        records.append(
            (
                played,
                np.full(played.size, day),
                pl.frustration[played].sum(axis=1),
                engagement[played],
                churn_count[played] == 0,
            )
        )
        interest = interest_at(day - install_day[alive], tr.interest_days[alive])
        p, parts = hazard_parts(pl.frustration[alive], interest, tr.engagement[alive])
        pl.frustration[alive] *= NIGHT_COOLING
        fired = (uniform(ka, counter(day, 0, _HAZARD)) < p) & (last_session[alive] >= 0)
        who = alive[fired]
        if not who.size:
            continue
        drivers = parts[fired].argmax(axis=1)
        first_time = churn_count[who] == 0
        comes_back = first_time & (uniform(keys[who], counter(day, 0, _RETURN)) < RETURN_SHARE)
        extra = np.floor(
            -RETURN_MEAN_EXTRA_DAYS * np.log1p(-uniform(keys[who], counter(day, 0, _RETURN_WAIT)))
        ).astype(np.int64)
        back_day = day + RETURN_MIN_DAYS + extra
        for j, player in enumerate(who.tolist()):
            c_player.append(player)
            c_last.append(int(last_session[player]))
            c_decided.append(day_start + DAY_MS)
            c_driver.append(int(drivers[j]))
            c_return.append(-1)
            if comes_back[j] and back_day[j] < days:
                away_until[player] = back_day[j]
                open_churn[player] = len(c_player) - 1
            else:
                gone[player] = True
        churn_count[who] += 1
    order = np.lexsort((np.array(c_decided, dtype=np.int64), np.array(c_player, dtype=np.int64)))
    churns = Churns(
        *(
            np.array(values, dtype=np.int64)[order]
            for values in (c_player, c_last, c_decided, c_driver, c_return)
        )
    )
    cols = [np.concatenate(c) if records else np.zeros(0) for c in zip(*records, strict=True)]
    if not records:
        cols = [np.zeros(0, dtype=np.int64)] * 5
    order = np.lexsort((cols[1], cols[0]))
    record = DayRecord(*(c[order] for c in cols))
    return install_ms, churns, record
