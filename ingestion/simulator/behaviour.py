"""What players do until they churn: the true events, before any device fault.

`simulate_lives` runs a chunk of players with the profile's schedule (`daily` for `default`,
`renewal` for `casual-mobile`), both playing their sessions with `sessions`, all in numpy; then
decodes the tables into one `PlayerLife` per player for delivery and the truth files.

All times are true UTC epoch milliseconds. Every draw is keyed by the player (see `draws`), so a
player's life does not depend on the chunk it is simulated in.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingestion.simulator import events as ev
from ingestion.simulator import oracle
from ingestion.simulator import sessions as ss
from ingestion.simulator.config import SimConfig
from ingestion.simulator.daily import (
    DRIVERS,
    END_MARGIN_MS,
    RETURN_MIN_DAYS,
    Churns,
    simulate_daily,
)
from ingestion.simulator.draws import Ids, counter, stream_keys
from ingestion.simulator.population import TRAIT_NAMES, Traits, draw_population
from ingestion.simulator.profiles import RENEWAL, get_profile
from ingestion.simulator.renewal import simulate_renewal

__all__ = [
    "ABANDONED_MATCH",
    "DRIVERS",
    "END_MARGIN_MS",
    "QUIT_AFTER_LOSS",
    "RETURN_MIN_DAYS",
    "PlayerLife",
    "simulate_lives",
]

# (true ms, event_name, event_id, the type's own fields in contract order)
TrueEvent = tuple[int, str, str, tuple[Any, ...]]

NO_DISCONNECT = "no_disconnect"
QUIT_AFTER_LOSS = "quit_after_loss"
ABANDONED_MATCH = "abandoned_match"
RAGE_WINDOW_MS = 60_000  # the platform's definition (dbt var rage_quit_window_seconds)

ENTRY_POINTS = (ev.LOBBY, ev.MATCHMAKING, ev.INVITE)  # by sessions.LOBBY, MATCHMAKING, INVITE
RESULTS = (ev.WIN, ev.LOSS, ev.MATCH_DISCONNECT)
OPPONENTS = (ev.HUMAN, ev.BOT)
ENDINGS = (NO_DISCONNECT, ev.QUIT, ev.NETWORK, ev.CRASH)
RAGE_KINDS = (QUIT_AFTER_LOSS, ABANDONED_MATCH)


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
    decided_ms: int  # when the player decided to leave (default: end of that day)
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
    oracle: str = ""  # this player's rows of the oracle's truth file (CSV, no header)


@dataclass
class Chunk:
    """A chunk's simulation as tables, before decoding (the oracle reads these too)."""

    cfg: SimConfig
    lo: int
    population: dict[str, np.ndarray]
    state: ss.PlayerState
    book: ss.Book
    install_ms: np.ndarray
    churns: Churns
    user_ids: list[str]
    schedule: Any  # the scheduler's own record, for the oracle


def simulate_chunk(cfg: SimConfig, lo: int, hi: int) -> Chunk:
    """Players `lo` to `hi` (exclusive) of `cfg`, as numpy tables."""
    profile = get_profile(cfg.profile)
    pop = draw_population(cfg.seed, profile, cfg.days, lo, hi)
    indices = np.arange(lo, hi)
    state = ss.PlayerState(
        keys=stream_keys(cfg.seed, indices, f"{profile.name}:behaviour"),
        ids=Ids(cfg.seed, indices, "ids"),
        skill=pop["skill"],
        tolerance=pop["tolerance"],
        network=pop["network"],
        crash_rate=pop["crash_rate"],
        match_appetite=pop["match_appetite"],
    )
    book = ss.Book()
    run = ss.Run(state, pop, profile, cfg.start_ms, cfg.days, book)
    schedule_of = simulate_renewal if profile.schedule == RENEWAL else simulate_daily
    install_ms, churns, schedule = schedule_of(run)
    users = Ids(cfg.seed, indices, "user").take(np.arange(hi - lo), np.zeros(hi - lo, np.uint64))
    return Chunk(cfg, lo, pop, state, book, install_ms, churns, users, schedule)


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array of `values` (tuples stay elements, not rows)."""
    return np.fromiter(values, dtype=object, count=len(values))


_NAMES = _objects([ev.SESSION_START, ev.MATCH_PLAYED, ev.DISCONNECT])
# session_start's fields (is_new_user, entry_point) by is_new * 3 + entry code
_START_FIELDS = _objects([(new, entry) for new in (False, True) for entry in ENTRY_POINTS])
_RESULTS, _OPPONENTS, _ENDINGS = (
    _objects(list(RESULTS)),
    _objects(list(OPPONENTS)),
    _objects(list(ENDINGS)),
)


class Decoder:
    """Turns a chunk's tables into `PlayerLife` objects, a range of players at a time (so that
    only a few thousand players' Python objects exist at once)."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        book = chunk.book
        s = self.s = book.sessions.table()
        e = book.events.table()
        kept = np.ones(book.n_sessions, dtype=bool)
        kept[book.dropped()] = False
        rows = np.flatnonzero(kept)
        # A player's sessions are created in time order: sorting by player keeps that order.
        self.order = rows[np.argsort(s["player"][rows], kind="stable")]
        position = np.full(book.n_sessions, -1, dtype=np.int64)
        position[self.order] = np.arange(self.order.size)
        ev_pos = position[e["session"]]
        keep = np.flatnonzero(ev_pos >= 0)
        ev_order = keep[np.lexsort((e["t"][keep], ev_pos[keep]))]
        self.e = {name: column[ev_order] for name, column in e.items()}
        n_players = len(chunk.install_ms)
        self.player_bounds = np.searchsorted(s["player"][self.order], np.arange(n_players + 1))
        self.event_bounds = np.searchsorted(ev_pos[ev_order], np.arange(self.order.size + 1))
        self.quits = self._rage_quits(book.rage_quits.table())
        book.release()
        self.oracle = oracle.chunk_table(chunk)

    def _rage_quits(self, q: dict[str, np.ndarray]) -> dict[int, list[RageQuit]]:
        quits: dict[int, list[RageQuit]] = {}
        if not len(q["session"]):
            return quits
        order = np.lexsort((q["quit_ms"], q["session"]))
        match_ids = self.chunk.state.ids.take(q["player"][order], q["match"][order])
        for sr, mid, t, k, after, streak in zip(
            q["session"][order].tolist(),
            match_ids,
            q["quit_ms"][order].tolist(),
            q["kind"][order].tolist(),
            q["after_loss"][order].tolist(),
            q["loss_streak"][order].tolist(),
            strict=True,
        ):
            rq = RageQuit(mid, t, RAGE_KINDS[k], None if after != after else after, streak)
            quits.setdefault(sr, []).append(rq)
        return quits

    def _events(self, e0: int, e1: int) -> list[TrueEvent]:
        e = {name: column[e0:e1] for name, column in self.e.items()}
        ids = self.chunk.state.ids
        kind = e["kind"]
        extras = np.empty(e1 - e0, dtype=object)
        start = np.flatnonzero(kind == ss.SESSION_START)
        extras[start] = _START_FIELDS[e["opponent"][start] * 3 + e["code"][start]]
        match = np.flatnonzero(kind == ss.MATCH_PLAYED)
        match_ids = ids.take(e["player"][match], e["match"][match])
        extras[match] = _objects(
            list(
                zip(
                    match_ids,
                    e["seconds"][match].tolist(),
                    _RESULTS[e["code"][match]].tolist(),
                    _OPPONENTS[e["opponent"][match]].tolist(),
                    strict=True,
                )
            )
        )
        quit_ = np.flatnonzero(kind == ss.DISCONNECT)
        extras[quit_] = _objects(
            list(
                zip(_ENDINGS[e["code"][quit_]].tolist(), e["seconds"][quit_].tolist(), strict=True)
            )
        )
        return list(
            zip(
                e["t"].tolist(),
                _NAMES[kind].tolist(),
                ids.take(e["player"], e["id"]),
                extras.tolist(),
                strict=True,
            )
        )

    def event_times(self, p0: int, p1: int) -> tuple[np.ndarray, np.ndarray]:
        """(true ms of the events of players p0 to p1, in the order of their lives' sessions and
        events; the number of events of each of these players)."""
        ends = self.event_bounds[self.player_bounds[p0 : p1 + 1]]
        return self.e["t"][ends[0] : ends[-1]], np.diff(ends)

    def lives(self, p0: int, p1: int) -> list[PlayerLife]:
        """Players p0 to p1 (exclusive) of the chunk, counted from the chunk's first."""
        # Millions of small acyclic objects: the cyclic collector would rescan them again and
        # again (a third of the time) and can free none of them.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._lives(p0, p1)
        finally:
            if enabled:
                gc.enable()

    def _lives(self, p0: int, p1: int) -> list[PlayerLife]:
        chunk, s = self.chunk, self.s
        s0, s1 = int(self.player_bounds[p0]), int(self.player_bounds[p1])
        e0, e1 = int(self.event_bounds[s0]), int(self.event_bounds[s1])
        true_events = self._events(e0, e1)
        bounds = (self.event_bounds[s0 : s1 + 1] - e0).tolist()
        rows = self.order[s0:s1]
        session_ids = chunk.state.ids.take(
            s["player"][rows], counter(s["number"][rows], 0, ss.ID_SESSION)
        )
        columns = [
            s[name][rows].tolist()
            for name in (
                "player", "start", "end", "entry", "is_new", "frustration", "matches", "wins",
                "losses", "match_disconnects", "ended_by",
            )
        ]  # fmt: skip
        by_player: list[list[Session]] = [[] for _ in range(p1 - p0)]
        by_row: dict[int, Session] = {}
        for j, (sid, srow, values) in enumerate(
            zip(session_ids, rows.tolist(), zip(*columns, strict=True), strict=True)
        ):
            player, start, end, entry, new, frustration, matches, wins, losses, md, how = values
            session = Session(
                sid, start, end, ENTRY_POINTS[entry], bool(new),
                true_events[bounds[j] : bounds[j + 1]], frustration, matches, wins, losses, md,
                ENDINGS[how], self.quits.get(srow, []),
            )  # fmt: skip
            by_player[player - p0].append(session)
            by_row[srow] = session
        churns: list[list[Churn]] = [[] for _ in range(p1 - p0)]
        c = chunk.churns
        lo_c, hi_c = np.searchsorted(c.player, [p0, p1])
        for player, last, decided, driver, back in zip(
            c.player[lo_c:hi_c].tolist(),
            c.last_session[lo_c:hi_c].tolist(),
            c.decided_ms[lo_c:hi_c].tolist(),
            c.driver[lo_c:hi_c].tolist(),
            c.return_session[lo_c:hi_c].tolist(),
            strict=True,
        ):
            ls = by_row[last]
            back_ms = by_row[back].start_ms if back in by_row else None
            churns[player - p0].append(
                Churn(ls.start_ms, ls.end_ms, decided, DRIVERS[driver], back_ms)
            )
        traits = [chunk.population[name][p0:p1].tolist() for name in TRAIT_NAMES]
        install = chunk.install_ms[p0:p1].tolist()
        oracle_rows = oracle.csv_texts(self.oracle, p0, p1, chunk.lo, chunk.cfg.start_ms)
        return [
            PlayerLife(
                chunk.lo + p0 + i,
                chunk.user_ids[p0 + i],
                Traits(*(values[i] for values in traits)),
                install[i],
                by_player[i],
                churns[i],
                oracle_rows[i],
            )
            for i in range(p1 - p0)
        ]


def simulate_lives(cfg: SimConfig, lo: int = 0, hi: int | None = None) -> list[PlayerLife]:
    """The lives of players `lo` (inclusive) to `hi` (exclusive), in index order."""
    hi = cfg.players if hi is None else hi
    return Decoder(simulate_chunk(cfg, lo, hi)).lives(0, hi - lo)
