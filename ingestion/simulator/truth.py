"""Ground truth: what really happened, written beside the data for tests and model evaluation.
The pipeline never reads it for training.

    players.csv     one row per player: hidden traits, device clock, install, churn, return
    sessions.csv    one row per true session, with its rage quits and how it was delivered
    rage_quits.csv  one row per true rage quit
    oracle.csv      one row per player and day, from the install date to the period's end: what
                    an oracle that knows the simulator's true hazard says at the end of that day
    acks.csv        (WebSocket mode) one row per copy of an event sent: what the ingestor said
    summary.json    the run's flags and closing counts

Times are true UTC (`...Z`, microseconds, the server's format); dates are UTC `YYYY-MM-DD`.
Rows are in player order, then time order, whatever the number of workers.

`oracle.csv` (for evaluation only, e.g. "the oracle's AUC": score each player at a snapshot at
the end of `date` with `p_quiet_<M>d`, label churn = no session start in the next M days):

    player_index   the player (join `players.csv` for the user_id)
    date           the UTC day; the snapshot is its end (midnight UTC)
    tenure_days    days since the install date (0 on the install date)
    p_gone         true probability that the player has churned by then and not come back
    p_quiet_7d     true probability of no session start in the 7 days after the snapshot...
    p_quiet_10d    ...in the 10 days (the new-player setting: observe 5, horizon 10)...
    p_quiet_14d    ...and in the 14 days (the platform's default churn horizon)

The oracle knows the hidden state after the player's last session and that no session has
happened since, not the draws still to come (`ingestion/simulator/oracle.py` derives them).
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ingestion.simulator.behaviour import PlayerLife
from ingestion.simulator.delivery import Delivery
from ingestion.simulator.events import date_text, server_ts
from ingestion.simulator.oracle import ORACLE_COLUMNS

PLAYERS = "players.csv"
SESSIONS = "sessions.csv"
RAGE_QUITS = "rage_quits.csv"
ORACLE = "oracle.csv"
ACKS = "acks.csv"
SUMMARY = "summary.json"

PLAYER_COLUMNS = (
    "user_id",
    "player_index",
    "install_at",
    "install_date",
    "skill",
    "engagement",
    "interest_days",
    "match_appetite",
    "frustration_tolerance",
    "network_quality",
    "sociability",
    "crash_rate",
    "tz_hours",
    "peak_hour",
    "clock_offset_sec",
    "clock_drift_sec_per_day",
    "client_update_at",
    "sessions",
    "events",
    "rage_quits",
    "churn_date",
    "churned_at",
    "churn_driver",
    "return_date",
    "churn_again_date",
)
SESSION_COLUMNS = (
    "session_id",
    "user_id",
    "start",
    "end",
    "start_date",
    "entry_point",
    "is_new_user",
    "matches",
    "wins",
    "losses",
    "match_disconnects",
    "ended_by",
    "events",
    "rage_quits",
    "frustration",
    "client_version",
    "delivery",
    "out_of_order",
)
RAGE_QUIT_COLUMNS = (
    "session_id",
    "user_id",
    "match_id",
    "quit_at",
    "kind",
    "seconds_after_loss",
    "loss_streak",
)
ACK_COLUMNS = ("event_id", "user_id", "frame_id", "copy", "why", "outcome", "code")


def _ts(ms: int | None) -> str:
    return "" if ms is None else server_ts(ms * 1000)


def _date(ms: int | None) -> str:
    return "" if ms is None else date_text(ms)


def _f(x: float) -> str:
    return f"{x:.4f}"


def player_row(life: PlayerLife, delivery: Delivery) -> tuple[Any, ...]:
    tr, clock = life.traits, delivery.clock
    first = life.churns[0] if life.churns else None
    again = life.churns[1] if len(life.churns) > 1 else None
    return (
        life.user_id,
        life.index,
        _ts(life.install_ms),
        _date(life.install_ms),
        _f(tr.skill),
        _f(tr.engagement),
        _f(tr.interest_days),
        _f(tr.match_appetite),
        _f(tr.tolerance),
        _f(tr.network),
        _f(tr.sociability),
        _f(tr.crash_rate),
        tr.tz_hours,
        _f(tr.peak_hour),
        f"{clock.offset_ms / 1000:.3f}",
        f"{clock.drift_ms_per_day / 1000:.3f}",
        _ts(delivery.update_ms),
        len(life.sessions),
        sum(len(s.events) for s in life.sessions),
        sum(len(s.rage_quits) for s in life.sessions),
        _date(first.last_session_start_ms) if first else "",
        _ts(first.last_event_ms) if first else "",
        first.driver if first else "",
        _date(first.return_ms) if first else "",
        _date(again.last_session_start_ms) if again else "",
    )


def session_rows(life: PlayerLife, delivery: Delivery) -> Iterable[tuple[Any, ...]]:
    for s, d in zip(life.sessions, delivery.sessions, strict=True):
        yield (
            s.session_id,
            life.user_id,
            _ts(s.start_ms),
            _ts(s.end_ms),
            _date(s.start_ms),
            s.entry_point,
            int(s.is_new_user),
            s.matches,
            s.wins,
            s.losses,
            s.match_disconnects,
            s.ended_by,
            len(s.events),
            len(s.rage_quits),
            _f(s.frustration),
            d.client_version,
            "offline" if d.offline else "online",
            int(d.out_of_order),
        )


def rage_quit_rows(life: PlayerLife) -> Iterable[tuple[Any, ...]]:
    for s in life.sessions:
        for q in s.rage_quits:
            after = "" if q.seconds_after_loss is None else f"{q.seconds_after_loss:.3f}"
            yield (
                s.session_id,
                life.user_id,
                q.match_id,
                _ts(q.quit_ms),
                q.kind,
                after,
                q.loss_streak,
            )


class TruthParts:
    """Truth rows of some players, as CSV text without headers (workers ship these back)."""

    def __init__(self) -> None:
        self.buffers = {name: io.StringIO() for name in (PLAYERS, SESSIONS, RAGE_QUITS, ORACLE)}
        self._writers = {
            name: csv.writer(buf, lineterminator="\n") for name, buf in self.buffers.items()
        }

    def add(self, life: PlayerLife, delivery: Delivery) -> None:
        self._writers[PLAYERS].writerow(player_row(life, delivery))
        self._writers[SESSIONS].writerows(session_rows(life, delivery))
        self._writers[RAGE_QUITS].writerows(rage_quit_rows(life))
        self.buffers[ORACLE].write(life.oracle)

    def take(self) -> dict[str, str]:
        """The text gathered so far; the buffers start again empty."""
        out = {name: buf.getvalue() for name, buf in self.buffers.items()}
        for buf in self.buffers.values():
            buf.seek(0)
            buf.truncate()
        return out


HEADERS = {
    PLAYERS: PLAYER_COLUMNS,
    SESSIONS: SESSION_COLUMNS,
    RAGE_QUITS: RAGE_QUIT_COLUMNS,
    ORACLE: ORACLE_COLUMNS,
}


class TruthWriter:
    """Writes the truth files of one run into `truth_dir` (created; existing files replaced)."""

    def __init__(self, truth_dir: Path) -> None:
        self.dir = truth_dir
        truth_dir.mkdir(parents=True, exist_ok=True)
        self._files = {name: (truth_dir / name).open("w", newline="") for name in HEADERS}
        for name, columns in HEADERS.items():
            self._files[name].write(",".join(columns) + "\n")

    def write_parts(self, parts: dict[str, str]) -> None:
        for name, text in parts.items():
            self._files[name].write(text)

    def append_parts(self, part_dir: Path) -> None:
        """Append the header-less part files a worker wrote into `part_dir`."""
        for name, out in self._files.items():
            with (part_dir / name).open(newline="") as part:
                shutil.copyfileobj(part, out, 1024 * 1024)

    def close(self) -> None:
        for f in self._files.values():
            f.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a truth file, for tests and evaluation."""
    with path.open(newline="") as f:
        return list(csv.DictReader(f))
