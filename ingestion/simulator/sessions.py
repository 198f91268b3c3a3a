"""One session of play for many players at once: matches, wins and losses, rage quits and
disconnects, and what they do to each player's latent frustration.

A player carries a latent frustration made of four parts (losses, rage quits, network drops,
crashes). Losses and loss streaks, rage quits, network disconnects and crashes add to it; wins and
sessions started from a friend's invite relieve it. Frustration shows in behaviour: a frustrated
player plays fewer matches per session and rage quits more. The schedulers (`daily`, `renewal`)
decide when sessions start and when players churn; this module plays the sessions.

Sessions of one batch belong to distinct players and run in lockstep, match by match, as numpy
arrays; every draw comes from `draws` keyed by the player and named by (session number, match,
purpose), so a session is the same whatever else is in its batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingestion.simulator.draws import Ids, block, counter, poisson, uniform
from ingestion.simulator.profiles import Profile

# Codes of the columns of the event and session tables (decoded in `behaviour`).
SESSION_START, MATCH_PLAYED, DISCONNECT = 0, 1, 2
LOBBY, MATCHMAKING, INVITE = 0, 1, 2
WIN, LOSS, MATCH_DISCONNECT = 0, 1, 2
HUMAN, BOT = 0, 1
NO_DISCONNECT, QUIT, NETWORK, CRASH = 0, 1, 2, 3
QUIT_AFTER_LOSS, ABANDONED_MATCH = 0, 1

F_LOSSES, F_RAGE, F_NETWORK, F_CRASH = range(4)
WIN_RELIEF = 0.8  # frustration kept after a win
INVITE_RELIEF = 0.55  # frustration kept when a friend's invite starts the session
ABANDON_BASE = -6.2
RAGE_BASE = -4.8

# Draw slots. Session-level draws use minor 0; match k uses minor k + 1.
_NO_MATCH, _PLANNED, _CALM, _CALM_WAIT = 0, 1, 2, 3
_WAIT, _OPPONENT, _OUTCOME, _PLAYED, _GAP, _SIGN, _WON, _JITTER, _RAGE, _RAGE_WAIT = range(10)
_NOISE, _OPP_NOISE = 10, 13  # three slots each
_SLOTS = 16  # match-level slots, drawn together
# Id slots (drawn from the id keys, so they may reuse the numbers above).
ID_SESSION, ID_START, ID_CALM_QUIT = 0, 1, 2  # minor 0
ID_MATCH_EVENT, ID_QUIT, ID_MATCH = 0, 1, 2  # minor k + 1


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class PlayerState:
    """The players of one chunk: draw keys, hidden traits and what evolves as they play."""

    keys: np.ndarray  # behaviour stream key per player
    ids: Ids
    skill: np.ndarray
    tolerance: np.ndarray
    network: np.ndarray
    crash_rate: np.ndarray
    match_appetite: np.ndarray
    frustration: np.ndarray = field(init=False)  # (players, 4)
    rating: np.ndarray = field(init=False)  # the matchmaker's estimate of the player's skill
    streak: np.ndarray = field(init=False)  # consecutive losses, across sessions
    sessions_played: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.keys)
        self.frustration = np.zeros((n, 4))
        self.rating = np.zeros(n)
        self.streak = np.zeros(n, dtype=np.int64)
        self.sessions_played = np.zeros(n, dtype=np.int64)


@dataclass
class Run:
    """One chunk's simulation as a schedule sees it: the players, their drawn population
    (traits and install days), the profile, the period and the book it fills."""

    state: PlayerState
    population: dict[str, np.ndarray]
    profile: Profile
    start_ms: int
    days: int
    book: Book


class _Columns:
    """Columns appended as arrays, concatenated once at the end."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in names}

    def add(self, **columns: np.ndarray) -> None:
        for name, parts in self.parts.items():
            parts.append(np.asarray(columns[name]))

    def table(self) -> dict[str, np.ndarray]:
        return {
            name: np.concatenate(parts) if parts else np.zeros(0)
            for name, parts in self.parts.items()
        }


SESSION_FIELDS = (
    "player", "number", "start", "end", "entry", "is_new", "frustration", "matches", "wins",
    "losses", "match_disconnects", "ended_by",
)  # fmt: skip
EVENT_FIELDS = ("session", "player", "t", "kind", "seconds", "code", "opponent", "id", "match")
RAGE_FIELDS = ("session", "player", "match", "quit_ms", "kind", "after_loss", "loss_streak")


class Book:
    """Everything played so far: sessions, their events and rage quits, as numpy tables."""

    def __init__(self) -> None:
        self.sessions = _Columns(SESSION_FIELDS)
        self.events = _Columns(EVENT_FIELDS)
        self.rage_quits = _Columns(RAGE_FIELDS)
        self.n_sessions = 0
        self._dropped: list[np.ndarray] = []

    def drop(self, sessions: np.ndarray) -> None:
        """Sessions that never happened (they would not end inside the period)."""
        self._dropped.append(sessions)

    def release(self) -> None:
        """Forget the appended parts (once their tables are taken), to halve peak memory."""
        for columns in (self.sessions, self.events, self.rage_quits):
            columns.parts = {name: [] for name in columns.parts}

    def dropped(self) -> np.ndarray:
        return np.concatenate(self._dropped) if self._dropped else np.zeros(0, dtype=np.int64)

    def event(
        self,
        session: np.ndarray,
        player: np.ndarray,
        t: np.ndarray,
        kind: int,
        seconds: np.ndarray,
        code: np.ndarray,
        opponent: np.ndarray,
        ident: np.ndarray,
        match: np.ndarray,
    ) -> None:
        self.events.add(
            session=session, player=player, t=t, kind=np.full(len(t), kind, np.int8),
            seconds=seconds, code=code, opponent=opponent, id=ident, match=match,
        )  # fmt: skip


def _span(lo_hi: tuple[int, int], u: np.ndarray) -> np.ndarray:
    lo, hi = lo_hi
    return (lo + (hi - lo) * u).astype(np.int64)


def play_sessions(
    pl: PlayerState,
    profile: Profile,
    rows: np.ndarray,
    start: np.ndarray,
    entry: np.ndarray,
    book: Book,
    appetite_scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Play one session for each player row in `rows` (distinct), starting at `start` (true ms).

    Records the sessions, events and rage quits in `book`, updates the players' state, and
    returns (the book's session numbers of these sessions, their end times)."""
    n = len(rows)
    first = book.n_sessions
    srow = np.arange(first, first + n)
    book.n_sessions += n
    number = pl.sessions_played[rows].copy()
    keys = pl.keys[rows]
    fr = pl.frustration
    invited = rows[entry == INVITE]
    fr[invited] *= INVITE_RELIEF
    is_new = number == 0
    frustration0 = fr[rows].sum(axis=1)
    zero = np.zeros(n, dtype=np.int64)
    none = np.zeros(n, dtype=np.uint64)
    book.event(srow, rows, start.copy(), SESSION_START, zero, entry, is_new.astype(np.int64),
               counter(number, 0, ID_START), none)  # fmt: skip

    lam = pl.match_appetite[rows] * np.exp(-0.45 * frustration0)
    if appetite_scale is not None:
        lam = lam * appetite_scale
    planned = 1 + poisson(lam, uniform(keys, counter(number, 0, _PLANNED)))
    planned[uniform(keys, counter(number, 0, _NO_MATCH)) < 0.03] = 0
    intolerance = 1.0 - pl.tolerance[rows]
    p_network = 0.002 + 0.06 * (1.0 - pl.network[rows]) ** 2
    p_fail = p_network + pl.crash_rate[rows]
    # New players and low-rated ones meet bots more often (the matchmaker protects them).
    p_bot_new = np.where(number < 2, 0.55, 0.0)
    t = start.astype(np.int64)
    last_loss = np.full(n, -1, dtype=np.int64)
    ended_by = np.zeros(n, dtype=np.int8)
    matches, wins, losses, disconnects = (np.zeros(n, dtype=np.int64) for _ in range(4))
    live = np.flatnonzero(planned > 0)
    k = 0
    while live.size:
        a, r = live, rows[live]
        ka, na, minor = keys[a], number[a], k + 1

        u_all = block(ka, na, minor, _SLOTS)

        def draw(slot: int, u_all: np.ndarray = u_all) -> np.ndarray:
            return u_all[:, slot]

        t[a] += _span(profile.first_match_wait if k == 0 else profile.between_matches, draw(_WAIT))
        match_ref = counter(na, minor, ID_MATCH)
        p_bot = np.where(p_bot_new[a] > 0, p_bot_new[a], np.where(pl.rating[r] < -1.0, 0.4, 0.12))
        opponent = (draw(_OPPONENT) < p_bot).astype(np.int64)
        streak6 = np.minimum(pl.streak[r], 6)
        total = fr[r].sum(axis=1)
        p_abandon = sigmoid(ABANDON_BASE + 2.4 * intolerance[a] + 0.8 * total + 0.25 * streak6)
        u = draw(_OUTCOME)
        matches[a] += 1
        failed = u < p_fail[a]
        abandoned = ~failed & (u < p_fail[a] + p_abandon)
        played_on = ~(failed | abandoned)

        # The client fails mid-match (network or crash): the session ends.
        i = np.flatnonzero(failed)
        if i.size:
            b, rb = a[i], r[i]
            network = u[i] < p_network[b]
            played = _span((20_000, 300_000), draw(_PLAYED)[i])
            t[b] += played
            book.event(srow[b], rb, t[b].copy(), MATCH_PLAYED, played // 1000,
                       np.full(i.size, MATCH_DISCONNECT), opponent[i],
                       counter(na[i], minor, ID_MATCH_EVENT), match_ref[i])  # fmt: skip
            t[b] += _span((1_000, 5_000), draw(_GAP)[i])
            reason = np.where(network, NETWORK, CRASH)
            book.event(srow[b], rb, t[b].copy(), DISCONNECT, (t[b] - start[b]) // 1000, reason,
                       zero[b], counter(na[i], minor, ID_QUIT), none[b])  # fmt: skip
            disconnects[b] += 1
            ended_by[b] = reason
            fr[rb[network], F_NETWORK] += 0.5
            fr[rb[~network], F_CRASH] += 0.6

        # Rage: leaves mid-match. The client reports the abandoned match and the quit within
        # seconds of each other, in either order.
        i = np.flatnonzero(abandoned)
        if i.size:
            b, rb = a[i], r[i]
            played = _span((30_000, 240_000), draw(_PLAYED)[i])
            quit_ms = t[b] + played
            sign = np.where(draw(_SIGN)[i] < 0.5, 1, -1)
            match_ms = quit_ms + _span((1_000, 15_000), draw(_GAP)[i]) * sign
            book.event(srow[b], rb, match_ms, MATCH_PLAYED, played // 1000,
                       np.full(i.size, MATCH_DISCONNECT), opponent[i],
                       counter(na[i], minor, ID_MATCH_EVENT), match_ref[i])  # fmt: skip
            book.event(srow[b], rb, quit_ms, DISCONNECT, (quit_ms - start[b]) // 1000,
                       np.full(i.size, QUIT), zero[b], counter(na[i], minor, ID_QUIT),
                       none[b])  # fmt: skip
            t[b] = np.maximum(match_ms, quit_ms)
            disconnects[b] += 1
            ended_by[b] = QUIT
            after = np.where(last_loss[b] >= 0, (quit_ms - last_loss[b]) / 1000, np.nan)
            book.rage_quits.add(session=srow[b], player=rb, match=match_ref[i], quit_ms=quit_ms,
                                kind=np.full(i.size, ABANDONED_MATCH), after_loss=after,
                                loss_streak=pl.streak[rb].copy())  # fmt: skip
            fr[rb, F_RAGE] += 0.45 * (0.6 + intolerance[b])

        # A match played to its end.
        i = np.flatnonzero(played_on)
        quitting = np.zeros(0, dtype=np.int64)
        if i.size:
            b, rb = a[i], r[i]
            ni = na[i]
            noise = (u_all[i, _NOISE : _NOISE + 3].sum(axis=1) - 1.5) * 2.0  # ~ N(0, 1)
            bot = opponent[i] == BOT
            won = np.empty(i.size, dtype=bool)
            duration = np.empty(i.size)
            u_won = draw(_WON)[i]
            mean, sd, floor = profile.bot_match
            won[bot] = u_won[bot] < 0.8
            duration[bot] = np.maximum(floor, mean + sd * noise[bot])
            h = np.flatnonzero(~bot)
            if h.size:
                rh = rb[h]
                opp_noise = (u_all[i[h], _OPP_NOISE : _OPP_NOISE + 3].sum(axis=1) - 1.5) * 2.0
                opp_skill = pl.rating[rh] + 0.5 * opp_noise
                won_h = u_won[h] < sigmoid(1.4 * (pl.skill[rh] - opp_skill))
                expected = sigmoid(1.4 * (pl.rating[rh] - opp_skill))
                pl.rating[rh] += 0.3 * (won_h - expected)
                (win_mean, win_sd), (loss_mean, loss_sd) = profile.human_win, profile.human_loss
                d = np.where(won_h, win_mean + win_sd * noise[h], loss_mean + loss_sd * noise[h])
                won[h] = won_h
                duration[h] = np.maximum(profile.human_min, d)
            seconds = duration.astype(np.int64) // 1000
            t[b] += seconds * 1000 + (1000 * draw(_JITTER)[i]).astype(np.int64)
            book.event(srow[b], rb, t[b].copy(), MATCH_PLAYED, seconds,
                       np.where(won, WIN, LOSS), opponent[i], counter(ni, minor, ID_MATCH_EVENT),
                       match_ref[i])  # fmt: skip
            wins[b[won]] += 1
            pl.streak[rb[won]] = 0
            fr[rb[won]] *= WIN_RELIEF
            lost = ~won
            bl, rl = b[lost], rb[lost]
            losses[bl] += 1
            pl.streak[rl] += 1
            streak6 = np.minimum(pl.streak[rl], 6)
            last_loss[bl] = t[bl]
            fr[rl, F_LOSSES] += (0.1 + 0.05 * streak6) * (0.6 + intolerance[bl])
            total = fr[rl].sum(axis=1)
            p_rage = sigmoid(RAGE_BASE + 2.8 * intolerance[bl] + 0.35 * streak6 + 0.9 * total)
            rage = draw(_RAGE)[i][lost] < p_rage
            q, rq = bl[rage], rl[rage]
            if q.size:
                iq = i[lost][rage]
                quit_ms = t[q] + _span((3_000, 45_000), draw(_RAGE_WAIT)[iq])
                book.event(srow[q], rq, quit_ms, DISCONNECT, (quit_ms - start[q]) // 1000,
                           np.full(q.size, QUIT), zero[q], counter(na[iq], minor, ID_QUIT),
                           none[q])  # fmt: skip
                ended_by[q] = QUIT
                book.rage_quits.add(session=srow[q], player=rq, match=match_ref[iq],
                                    quit_ms=quit_ms, kind=np.full(q.size, QUIT_AFTER_LOSS),
                                    after_loss=(quit_ms - t[q]) / 1000,
                                    loss_streak=pl.streak[rq].copy())  # fmt: skip
                t[q] = quit_ms
                fr[rq, F_RAGE] += 0.45 * (0.6 + intolerance[q])
                quitting = q
        going_on = a[played_on]
        if quitting.size:
            going_on = np.setdiff1d(going_on, quitting, assume_unique=True)
        live = going_on[k + 1 < planned[going_on]]
        k += 1

    # Closes the app calmly: long after the last match, so never a rage quit.
    calm = np.flatnonzero(
        (ended_by == NO_DISCONNECT) & (uniform(keys, counter(number, 0, _CALM)) < 0.45)
    )
    if calm.size:
        t[calm] += _span(
            profile.calm_close, uniform(keys[calm], counter(number[calm], 0, _CALM_WAIT))
        )
        book.event(srow[calm], rows[calm], t[calm].copy(), DISCONNECT,
                   (t[calm] - start[calm]) // 1000, np.full(calm.size, QUIT), zero[calm],
                   counter(number[calm], 0, ID_CALM_QUIT), none[calm])  # fmt: skip
        ended_by[calm] = QUIT
    book.sessions.add(
        player=rows, number=number, start=start.astype(np.int64), end=t, entry=entry,
        is_new=is_new, frustration=frustration0, matches=matches, wins=wins, losses=losses,
        match_disconnects=disconnects, ended_by=ended_by,
    )  # fmt: skip
    pl.sessions_played[rows] += 1
    return srow, t
