"""What a player does, day by day, until they churn: the true events, before any device fault.

A player carries a latent frustration made of four parts (losses, rage quits, network drops,
crashes). Losses and loss streaks, rage quits, network disconnects and crashes add to it; wins and
sessions started from a friend's invite relieve it; a night's sleep cools it. Frustration shows
in behaviour before it shows in churn: a frustrated player starts fewer sessions, plays fewer
matches per session and rage quits more. Engagement also fades with tenure. Each day ends with a
churn hazard that rises with frustration and fading interest; once it fires the player emits
nothing more, except that a small share come back after a long absence (the platform must tell
"inactive" from "churned").

All times are true UTC epoch milliseconds. Every draw comes from the player's behaviour RNG.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from ingestion.simulator.events import (
    BOT,
    CRASH,
    DAY_MS,
    DISCONNECT,
    HOUR_MS,
    HUMAN,
    INVITE,
    LOBBY,
    LOSS,
    MATCH_DISCONNECT,
    MATCH_PLAYED,
    MATCHMAKING,
    NETWORK,
    QUIT,
    SESSION_START,
    WIN,
    new_uuid,
)
from ingestion.simulator.population import Traits

# (true ms, event_name, event_id, the type's own fields in contract order)
TrueEvent = tuple[int, str, str, tuple[Any, ...]]

NO_DISCONNECT = "no_disconnect"
QUIT_AFTER_LOSS = "quit_after_loss"
ABANDONED_MATCH = "abandoned_match"
RAGE_WINDOW_MS = 60_000  # the platform's definition (dbt var rage_quit_window_seconds)
# Sessions end this long before the period does, so that every delivery fits inside it.
END_MARGIN_MS = 5 * 60_000

# Frustration parts and churn drivers (the last one is not frustration but fading interest).
F_LOSSES, F_RAGE, F_NETWORK, F_CRASH = range(4)
DRIVERS = ("losses", "rage_quits", "network", "crashes", "fading_interest")

# -- model constants: tuned so that ~40% of a month's installs churn, mostly after visible
# frustration, and a days-since-last-session baseline leaves plenty for a model to find.
NIGHT_COOLING = 0.72  # frustration kept overnight
WIN_RELIEF = 0.8  # frustration kept after a win
INVITE_RELIEF = 0.55  # frustration kept when a friend's invite starts the session
ABANDON_BASE = -6.2
RAGE_BASE = -4.8
HAZARD_BASE = -6.0
HAZARD_FRUSTRATION = 2.4
HAZARD_FADING = 1.0
RETURN_SHARE = 0.15  # share of churners who come back...
RETURN_MIN_DAYS = 15  # ...after at least this long (longer than the 14-day label horizon)


_exp = math.exp


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + _exp(-x))


def _time(event: TrueEvent) -> int:
    return event[0]


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: exact and fast for the small means used here."""
    if lam <= 0.0:
        return 0
    limit, k, p = math.exp(-min(lam, 30.0)), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass(slots=True)
class RageQuit:
    match_id: str
    quit_ms: int
    kind: str  # quit_after_loss | abandoned_match
    seconds_after_loss: float | None  # from the last finished loss of the session, if any
    loss_streak: int  # consecutive losses before the quit


@dataclass(slots=True)
class Session:
    session_id: str
    start_ms: int
    end_ms: int
    entry_point: str
    is_new_user: bool
    events: list[TrueEvent]
    frustration: float  # latent frustration when it started (truth only)
    matches: int = 0
    wins: int = 0
    losses: int = 0
    match_disconnects: int = 0
    ended_by: str = NO_DISCONNECT  # quit | network | crash | no_disconnect
    rage_quits: list[RageQuit] = field(default_factory=list)


@dataclass(slots=True)
class Churn:
    last_session_start_ms: int  # its UTC date is the churn date
    last_event_ms: int  # nothing happens after this until a return
    decided_ms: int  # end of the day the hazard fired
    driver: str
    return_ms: int | None = None  # start of the first session back, when inside the period


@dataclass(slots=True)
class PlayerLife:
    index: int
    user_id: str
    traits: Traits
    install_ms: int
    sessions: list[Session]
    churns: list[Churn]


class _Player:
    def __init__(self, rng: random.Random, traits: Traits, start_ms: int, end_ms: int) -> None:
        self.rng = rng
        self.traits = traits
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.frustration = [0.0, 0.0, 0.0, 0.0]
        self.rating = 0.0  # the matchmaker's estimate of the player's skill
        self.streak = 0  # consecutive losses, across sessions
        self.sessions_played = 0
        self.user_id = new_uuid(rng)

    def play_session(self, start: int, entry: str) -> Session:
        # Hot loop (tens of millions of events in a benchmark): local names, and uniform draws
        # shaped by arithmetic instead of the slower randint/gauss.
        r, tr, fr = self.rng, self.traits, self.frustration
        rand = r.random
        if entry == INVITE:
            fr[:] = [f * INVITE_RELIEF for f in fr]
        is_new = self.sessions_played == 0
        session = Session(new_uuid(r), start, start, entry, is_new, [], sum(fr))
        events = session.events
        append = events.append
        append((start, SESSION_START, new_uuid(r), (is_new, entry)))
        planned = 0 if rand() < 0.03 else 1 + poisson(r, tr.match_appetite * _exp(-0.45 * sum(fr)))
        intolerance = 1.0 - tr.tolerance
        p_network = 0.002 + 0.06 * (1.0 - tr.network) ** 2
        p_fail = p_network + tr.crash_rate
        # New players and low-rated ones meet bots more often (the matchmaker protects them).
        p_bot_new = 0.55 if self.sessions_played < 2 else 0.0
        t = start
        last_loss_ms: int | None = None
        for k in range(planned):
            t += int(10_000 + 110_000 * rand()) if k == 0 else int(20_000 + 70_000 * rand())
            match_id = new_uuid(r)
            p_bot = p_bot_new or (0.4 if self.rating < -1.0 else 0.12)
            opponent = BOT if rand() < p_bot else HUMAN
            streak = self.streak if self.streak < 6 else 6
            total = fr[0] + fr[1] + fr[2] + fr[3]
            p_abandon = _sigmoid(ABANDON_BASE + 2.4 * intolerance + 0.8 * total + 0.25 * streak)
            u = rand()
            session.matches += 1
            if u < p_fail:
                reason = NETWORK if u < p_network else CRASH
                played = int(20_000 + 280_000 * rand())
                t += played
                result = (match_id, played // 1000, MATCH_DISCONNECT, opponent)
                append((t, MATCH_PLAYED, new_uuid(r), result))
                t += int(1_000 + 4_000 * rand())
                append((t, DISCONNECT, new_uuid(r), (reason, (t - start) // 1000)))
                session.match_disconnects += 1
                session.ended_by = reason
                if reason == NETWORK:
                    fr[F_NETWORK] += 0.5
                else:
                    fr[F_CRASH] += 0.6
                break
            if u < p_fail + p_abandon:
                # Rage: leaves mid-match. The client reports the abandoned match and the quit
                # within seconds of each other, in either order.
                played = int(30_000 + 210_000 * rand())
                quit_ms = t + played
                match_ms = quit_ms + int(1_000 + 14_000 * rand()) * (1 if rand() < 0.5 else -1)
                result = (match_id, played // 1000, MATCH_DISCONNECT, opponent)
                append((match_ms, MATCH_PLAYED, new_uuid(r), result))
                append((quit_ms, DISCONNECT, new_uuid(r), (QUIT, (quit_ms - start) // 1000)))
                events.sort(key=_time)
                t = max(match_ms, quit_ms)
                session.match_disconnects += 1
                session.ended_by = QUIT
                after = None if last_loss_ms is None else (quit_ms - last_loss_ms) / 1000
                session.rage_quits.append(
                    RageQuit(match_id, quit_ms, ABANDONED_MATCH, after, self.streak)
                )
                fr[F_RAGE] += 0.45 * (0.6 + intolerance)
                break
            noise = (rand() + rand() + rand() - 1.5) * 2.0  # ~ standard normal
            if opponent == BOT:
                won = rand() < 0.8
                duration = 200_000 + 40_000 * noise
                duration = 60_000 if duration < 60_000 else duration
            else:
                opp_skill = self.rating + 0.5 * (rand() + rand() + rand() - 1.5) * 2.0
                won = rand() < _sigmoid(1.4 * (tr.skill - opp_skill))
                expected = _sigmoid(1.4 * (self.rating - opp_skill))
                self.rating += 0.3 * ((1.0 if won else 0.0) - expected)
                duration = 330_000 + 70_000 * noise if won else 300_000 + 90_000 * noise
                duration = 90_000 if duration < 90_000 else duration
            seconds = int(duration) // 1000
            t += seconds * 1000 + int(1000 * rand())
            append(
                (t, MATCH_PLAYED, new_uuid(r), (match_id, seconds, WIN if won else LOSS, opponent))
            )
            if won:
                session.wins += 1
                self.streak = 0
                fr[:] = [f * WIN_RELIEF for f in fr]
                continue
            session.losses += 1
            self.streak += 1
            streak = self.streak if self.streak < 6 else 6
            last_loss_ms = t
            fr[F_LOSSES] += (0.1 + 0.05 * streak) * (0.6 + intolerance)
            total = fr[0] + fr[1] + fr[2] + fr[3]
            if rand() < _sigmoid(RAGE_BASE + 2.8 * intolerance + 0.35 * streak + 0.9 * total):
                quit_ms = t + int(3_000 + 42_000 * rand())
                append((quit_ms, DISCONNECT, new_uuid(r), (QUIT, (quit_ms - start) // 1000)))
                session.ended_by = QUIT
                after = (quit_ms - t) / 1000
                session.rage_quits.append(
                    RageQuit(match_id, quit_ms, QUIT_AFTER_LOSS, after, self.streak)
                )
                t = quit_ms
                fr[F_RAGE] += 0.45 * (0.6 + intolerance)
                break
        if session.ended_by == NO_DISCONNECT and rand() < 0.45:
            # Closes the tab calmly: long after the last match, so never a rage quit.
            t += int(90_000 + 510_000 * rand())
            append((t, DISCONNECT, new_uuid(r), (QUIT, (t - start) // 1000)))
            session.ended_by = QUIT
        session.end_ms = t
        self.sessions_played += 1
        return session

    def entry_point(self, returning: bool) -> str:
        r = self.rng
        if r.random() < self.traits.sociability + (0.35 if returning else 0.0):
            return INVITE
        return MATCHMAKING if r.random() < 0.6 else LOBBY

    def start_times(self, day_start: int, n: int) -> list[int]:
        r, tr = self.rng, self.traits
        hours = ((tr.peak_hour + r.gauss(0.0, 1.8) - tr.tz_hours) % 24.0 for _ in range(n))
        return sorted(day_start + int(h * HOUR_MS) for h in hours)

    def hazard(self, interest: float) -> tuple[float, list[float]]:
        """Today's churn probability and the contribution of each driver to it."""
        parts = [HAZARD_FRUSTRATION * f for f in self.frustration]
        parts.append(
            HAZARD_FADING * (1.0 - interest) + 0.5 * max(0.0, 1.0 - self.traits.engagement)
        )
        return _sigmoid(HAZARD_BASE + sum(parts)), parts


def simulate_player(
    index: int,
    rng: random.Random,
    traits: Traits,
    install_day: int,
    start_ms: int,
    days: int,
) -> PlayerLife:
    """The whole life of one player inside the period [start_ms, start_ms + days)."""
    end_ms = start_ms + days * DAY_MS
    p = _Player(rng, traits, start_ms, end_ms)
    r = rng
    day_start0 = start_ms + install_day * DAY_MS
    install_ms = day_start0 + int(((traits.peak_hour - traits.tz_hours) % 24.0) * HOUR_MS)
    install_ms += r.randint(-HOUR_MS, HOUR_MS)
    install_ms = min(max(install_ms, day_start0), day_start0 + DAY_MS - HOUR_MS)
    life = PlayerLife(index, p.user_id, traits, install_ms, [], [])
    busy_until = 0
    engagement = traits.engagement
    away_until: int | None = None  # while churned: the day they come back, if they do
    epoch_day0 = start_ms // DAY_MS
    for day in range(install_day, days):
        day_start = start_ms + day * DAY_MS
        back_today = False
        if life.churns and life.churns[-1].return_ms is None:
            if away_until is None or day < away_until:
                if away_until is None:
                    break  # gone for good
                continue
            back_today, away_until = True, None
            p.frustration = [0.0, 0.0, 0.0, 0.0]
            engagement *= 0.7
        tenure = day - install_day
        interest = 0.35 + 0.65 * math.exp(-tenure / traits.interest_days)
        weekend = (epoch_day0 + day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
        lam = engagement * interest * math.exp(-0.5 * sum(p.frustration))
        starts = p.start_times(day_start, poisson(r, lam * (1.3 if weekend else 1.0)))
        if day == install_day:
            starts = [install_ms, *(s for s in starts if s > install_ms)]
        elif back_today and not starts:
            starts = p.start_times(day_start, 1)
        ended = False
        for planned in starts:
            begin = max(planned, busy_until + r.randint(10, 90) * 60_000)
            session = p.play_session(begin, p.entry_point(back_today))
            if session.end_ms >= end_ms - END_MARGIN_MS:
                ended = True  # it would not end inside the period: it never happened
                break
            if back_today:
                life.churns[-1].return_ms = session.start_ms
                back_today = False
            life.sessions.append(session)
            busy_until = session.end_ms
        if ended:
            break
        churn_p, parts = p.hazard(interest)
        p.frustration = [f * NIGHT_COOLING for f in p.frustration]
        if r.random() < churn_p and life.sessions:
            last = life.sessions[-1]
            driver = DRIVERS[max(range(5), key=lambda i: parts[i])]
            life.churns.append(Churn(last.start_ms, last.end_ms, day_start + DAY_MS, driver))
            if len(life.churns) == 1 and r.random() < RETURN_SHARE:
                back = day + RETURN_MIN_DAYS + int(r.expovariate(1 / 10))
                away_until = back if back < days else None
    return life
