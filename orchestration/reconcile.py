"""Reconciliation: prove that nothing was lost between the simulator, the ingestor, the landing
shards and the warehouse.

Run by `make demo` after the whole graph is materialized, and by the end-to-end tests. Each check
compares two counts that must agree, or names the rule that explains the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.landing.layout import Stream, published_shards


@dataclass(frozen=True)
class Check:
    name: str
    expected: int
    actual: int
    ok: bool
    explanation: str = ""

    def line(self) -> str:
        mark = "ok " if self.ok else "FAIL"
        text = f"[{mark}] {self.name}: expected {self.expected:,}, found {self.actual:,}"
        return f"{text} ({self.explanation})" if self.explanation else text


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _csv(path: Path) -> str:
    return f"read_csv('{path}', header = true, all_varchar = true)"


def landed_lines(landing_root: Path) -> int:
    """Lines in every published event shard (each is one landed copy)."""
    total = 0
    for shard in published_shards(landing_root, Stream.EVENTS):
        with shard.open("rb") as f:
            total += sum(1 for _ in f)
    return total


def reconcile(
    con: duckdb.DuckDBPyConnection,
    landing_root: Path,
    truth_dir: Path | None,
    *,
    marts: bool = True,
) -> list[Check]:
    """Every check that the data at hand allows (truth files are optional: real games have none).

    `marts=False` leaves out the checks of the dbt marts, for a warehouse loaded only as far as
    `events`."""
    checks: list[Check] = []
    raw = _scalar(con, "select count(*) from raw.raw_events")
    # A copy is a (shard, line): counting them distinct catches a line loaded twice while
    # another went missing, which equal row counts alone would hide.
    raw_copies = _scalar(
        con, "select count(*) from (select distinct shard_path, line_number from raw.raw_events)"
    )
    landed = landed_lines(landing_root)
    checks.append(
        Check(
            "landed copies loaded once into raw_events",
            landed,
            raw_copies,
            landed == raw == raw_copies,
            "" if raw == raw_copies else f"{raw - raw_copies:,} rows repeat a (shard, line)",
        )
    )
    distinct_raw = _scalar(con, "select count(distinct event_id) from raw.raw_events")
    events = _scalar(con, "select count(*) from raw.events")
    quarantined = _scalar(con, "select count(distinct event_id) from raw.quarantined_events")
    checks.append(
        Check(
            "events = distinct event_ids of raw_events (less quarantined)",
            distinct_raw - quarantined,
            events,
            distinct_raw - quarantined == events,
            f"{quarantined:,} quarantined by validation" if quarantined else "",
        )
    )
    if truth_dir is None or not (truth_dir / "acks.csv").exists():
        return checks

    acks = _csv(truth_dir / "acks.csv")
    acked = _scalar(con, f"select count(distinct event_id) from {acks} where outcome = 'acked'")
    acked_missing = _scalar(
        con,
        f"""select count(distinct a.event_id) from {acks} a
            anti join raw.raw_events r on r.event_id = a.event_id
            where a.outcome = 'acked'""",
    )
    checks.append(
        Check(
            "acknowledged events found in raw_events",
            acked,
            acked - acked_missing,
            acked_missing == 0,
        )
    )
    # Per event_id, every acknowledged copy landed (at least that many rows), and nothing landed
    # that was not sent or was refused (at most the acknowledged copies plus those whose ack never
    # came: a copy written just before its connection or its server died).
    copies = _scalar(
        con,
        f"""with sent as (
                select event_id,
                       count(*) filter (where outcome = 'acked') as acked,
                       count(*) filter (where outcome = 'unacked') as unacked
                from {acks} where outcome = 'acked' or outcome = 'unacked' group by event_id
            ),
            landed as (select event_id, count(*) as n from raw.raw_events group by event_id)
            select count(*) from sent s left join landed l using (event_id)
            where s.acked > 0 and coalesce(l.n, 0) between s.acked and s.acked + s.unacked""",
    )
    checks.append(
        Check(
            "raw_events copies per acknowledged event_id between its acked and its sent copies",
            acked,
            copies,
            copies == acked,
        )
    )
    # An ack can be lost after the write (a killed server, a dropped connection): the copy
    # landed but the client never heard of it. Such copies are in `events` without an ack, and
    # the delivery log shows a copy sent whose ack never came; any other unacked id is a fault.
    landed_unacked, unexplained = con.execute(
        f"""select count(*), count(*) filter (where u.event_id is null)
                from raw.events e
                anti join (select distinct event_id from {acks} where outcome = 'acked') a
                  on a.event_id = e.event_id
                left join (select distinct event_id from {acks} where outcome = 'unacked') u
                  on u.event_id = e.event_id"""
    ).fetchone() or (0, 0)
    explanation = []
    if landed_unacked - unexplained:
        explanation.append(
            f"{landed_unacked - unexplained:,} landed but their ack was lost "
            "(rule: ack_lost_after_write)"
        )
    if unexplained:
        explanation.append(f"{unexplained:,} in events that were never sent or were refused")
    checks.append(
        Check(
            "events = distinct acknowledged event_ids",
            acked + landed_unacked,
            events,
            acked + landed_unacked == events and unexplained == 0,
            "; ".join(explanation),
        )
    )
    if not marts:
        return checks

    sessions = _csv(truth_dir / "sessions.csv")
    truth_sessions = _scalar(
        con,
        f"""select count(*) from {sessions} s
            where exists (select 1 from raw.events e where e.session_id = s.session_id)""",
    )
    fct_sessions = _scalar(con, "select count(*) from marts.fct_sessions")
    checks.append(
        Check(
            "fct_sessions = simulated sessions with an acknowledged event",
            truth_sessions,
            fct_sessions,
            truth_sessions == fct_sessions,
        )
    )

    rage = _csv(truth_dir / "rage_quits.csv")
    # Compared as sets of (session, match), so that a missed one and an extra one cannot cancel.
    truth_rage, found_rage, missed, extra = con.execute(
        f"""with truth as (
                    select session_id, match_id from {rage} t
                    where exists (select 1 from raw.events e where e.match_id = t.match_id)
                      and exists (
                        select 1 from raw.events e
                        where e.session_id = t.session_id and e.disconnect_reason = 'quit'
                      )
                ),
                found as (select session_id, match_id from marts.fct_rage_quits)
                select (select count(*) from truth), (select count(*) from found),
                       (select count(*) from (
                           from truth anti join found using (session_id, match_id)
                       )),
                       (select count(*) from (
                           from found anti join truth using (session_id, match_id)
                       ))"""
    ).fetchone() or (0, 0, 0, 0)
    checks.append(
        Check(
            "rage quits found = rage quits in the truth that survived delivery",
            truth_rage,
            found_rage,
            truth_rage == found_rage and missed == 0 and extra == 0,
            ""
            if missed == extra == 0
            else f"{missed:,} in the truth not found, {extra:,} found not in the truth (rule: the "
            "match and the quit must both be delivered, and the quit within the window of "
            "corrected event time)",
        )
    )
    return checks
