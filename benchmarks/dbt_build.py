"""Benchmark of the dbt project: a full `dbt build`, then the incremental run after one more day.

Both are the build the nightly job runs (`PRODUCTION_BUILD`: models and data tests; the unit
tests are timed on their own).

    .venv/bin/python benchmarks/dbt_build.py                     # 10M events, 40 days (simulated)
    .venv/bin/python benchmarks/dbt_build.py --save-warehouse W  # ... and keep raw.events in W
    .venv/bin/python benchmarks/dbt_build.py --warehouse W       # raw.events already loaded
                                                  # (W above, or benchmarks/whole_run.py --keep)

Events come from the simulator (`respawn simulate --to-landing`, loaded with DuckDB's read_json
and deduplicated on event_id) when it is installed, else from a synthetic generator in SQL (same
columns, sessions with matches, disconnects, clock faults and late deliveries). The last receive
day is held back, the full build runs on the rest, then that day is appended and the incremental
build runs. The bare baseline in the same run is the core of the work done directly in DuckDB:
the sessions aggregation over all events as one CREATE TABLE AS.

Goals (2 cores, 10 million events over 40 days): full build within 100 s; the one-day
incremental within 15% of it. Each build's slowest nodes are printed, and the load average.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.load import measuring  # noqa: E402
from orchestration.dbt_project import PRODUCTION_BUILD  # noqa: E402
from orchestration.warehouse.raw_schema import EVENT_COLUMNS, create_event_table  # noqa: E402

PROJECT_DIR = REPO / "dbt_project"
DBT = REPO / ".venv" / "bin" / "dbt"
EVENTS_PER_SESSION = 5  # on average, in the synthetic generator
PEAK_RSS: dict[str, int] = {}

# Synthetic players: each plays on some days from an install day until a churn day; a session
# has a session_start (1% missing), matches and sometimes a disconnect. 70% of sessions come in
# batches with sent_at; the rest rely on the device clock, 4% of which run minutes ahead and 4%
# minutes behind; 1% of sessions are delivered hours late. 0.2% of events are of an unknown name.
SYNTHETIC_SQL = """
create or replace temp table synthetic_events as
with
players as (
    select
        p as player,
        uuid_from(p, 'user') as user_id,
        cast(hash(p, {seed}, 'install') % greatest({days} // 2, 1) as bigint) as install_day,
        cast({days} // 3 + hash(p, {seed}, 'churn') % ({days} * 2) as bigint) as churn_day,
        0.25 + (hash(p, {seed}, 'engagement') % 60) / 100.0 as engagement
    from range({players}) as t (p)
),
player_days as (
    select players.*, d as day
    from players, range({days}) as t (d)
    where d >= install_day and d < churn_day
      and (hash(player, d, {seed}, 'active') % 1000) / 1000.0 < engagement
),
sessions as (
    select
        player_days.*,
        s as session_number,
        uuid_from(player * 100000 + day * 10 + s, 'session') as session_id,
        timestamp '{start}' + to_days(day) + secs(
            (hash(player, day, s, {seed}, 'start') % 80000)
        ) as true_start,
        cast(hash(player, day, s, {seed}, 'matches') % 8 as bigint) as match_count,
        cast(hash(player, day, s, {seed}, 'fault') % 100 as bigint) as fault,
        cast(hash(player, day, s, {seed}, 'skew') % 3000 + 400 as bigint) as skew_seconds
    from player_days, range(cast(1 + hash(player, day, {seed}, 'sessions') % 2 as bigint)) as t (s)
),
session_events as (
    select sessions.*, e as event_number,
        case
            when e = 0 then 'session_start'
            when e <= match_count then 'match_played'
            when hash(session_id, 'unknown') % 500 = 0 then 'season_pass_viewed'
            else 'disconnect'
        end as event_name,
        true_start + secs(
            case when e > match_count then match_count * 240 + 20 + hash(session_id, 'quit') % 70
            else e * 240 + hash(session_id, e, 'jitter') % 60 end
        ) as true_at
    from sessions, range(match_count + 2) as t (e)
    where not (e = 0 and fault = 0)
      and not (e = match_count + 1 and hash(session_id, 'ends') % 10 < 6
               and hash(session_id, 'unknown') % 500 != 0)
),
timed as (
    select *,
        case
            when fault between 30 and 33 then true_at + secs(skew_seconds)
            when fault between 34 and 37 then true_at - secs(skew_seconds)
            else true_at
        end as client_ts,
        true_at + micros(50000 + hash(session_id, event_number, 'lag') % 900000)
            + case when fault = 99 then interval 3 hour else interval 0 second end
            as received_at
    from session_events
)
select
    event_name,
    'v1' as event_version,
    uuid_from(hash(session_id, event_number), 'event') as event_id,
    user_id,
    session_id,
    client_ts,
    '1.4.2' as client_version,
    'web' as platform,
    case when event_name = 'session_start' then day = install_day and session_number = 0 end
        as is_new_user,
    case when event_name = 'session_start'
        then ['lobby', 'matchmaking', 'invite'][pick(hash(session_id, 'entry'), 3)] end
        as entry_point,
    case when event_name = 'match_played' then uuid_from(hash(session_id, event_number), 'match')
        end as match_id,
    case when event_name = 'match_played' then 60 + hash(session_id, event_number, 'd') % 600
        end as match_duration_sec,
    case when event_name = 'match_played'
        then ['win', 'loss', 'loss', 'win', 'disconnect'][pick(hash(session_id, event_number), 5)]
        end as result,
    case when event_name = 'match_played'
        then ['human', 'bot'][pick(hash(session_id, event_number, 'o'), 2)] end as opponent_type,
    case when event_name = 'disconnect'
        then ['network', 'quit', 'crash', 'quit'][pick(hash(session_id, 'reason'), 4)] end
        as disconnect_reason,
    case when event_name = 'disconnect' then event_number * 240 end
        as time_since_session_start_sec,
    strftime(client_ts, '%Y-%m-%dT%H:%M:%S.%fZ') as client_timestamp,
    case when event_name = 'season_pass_viewed' then 'unknown' else 'valid' end as status,
    null::json as payload,
    received_at,
    case when fault >= 38 then client_ts + micros(hash(session_id, 'send') % 500000)
        end as sent_at,
    case when fault >= 38 then session_id end as batch_id,
    'synthetic' as connection_id,
    cast(received_at as date) as receive_date,
    'synthetic/' || strftime(received_at, '%Y-%m-%d') as shard_path,
    event_number as line_number
from timed
"""

UUID_MACRO = """
create or replace temp macro secs(x) as to_seconds(cast(x as bigint));
create or replace temp macro micros(x) as to_microseconds(cast(x as bigint));
create or replace temp macro pick(h, n) as cast(1 + h % n as bigint);
create or replace temp macro uuid_of(h) as (
    substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8'
    || substr(h, 18, 3) || '-' || substr(h, 21, 12)
);
create or replace temp macro uuid_from(n, salt) as uuid_of(md5(cast(n as varchar) || salt))
"""


def synthesize(con: duckdb.DuckDBPyConnection, events: int, days: int, seed: int) -> None:
    """Fill temp table synthetic_events with about `events` events over `days` days."""
    # mean engagement 0.545, active span ~ min(days, churn) ~ 0.6 * days, 1.5 sessions a day
    players = max(10, int(events / (EVENTS_PER_SESSION * 1.5 * 0.545 * 0.6 * days)))
    con.execute(UUID_MACRO)
    con.execute(
        SYNTHETIC_SQL.format(players=players, days=days, seed=seed, start="2026-01-01 00:00:00")
    )


def load_from_simulator(con: duckdb.DuckDBPyConnection, events: int, days: int, seed: int) -> bool:
    """Simulate into landing shards, read them into synthetic_events; False if unavailable."""
    if importlib.util.find_spec("ingestion.simulator") is None:
        return False
    work = Path(tempfile.mkdtemp(prefix="respawn-bench-landing-"))
    landing = work / "landing"
    command = [
        str(REPO / ".venv" / "bin" / "respawn"), "simulate", "--to-landing", str(landing),
        "--events", str(events), "--days", str(days), "--seed", str(seed),
        "--truth-dir", str(work / "truth"),
    ]  # fmt: skip
    print("simulating:", " ".join(command), file=sys.stderr)
    if subprocess.run(command, check=False).returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        print("the simulator failed; using the synthetic generator", file=sys.stderr)
        return False
    typed = ",\n".join(
        f"cast(event ->> '{name}' as {dtype}) as {name}"
        for name, dtype in EVENT_COLUMNS.items()
        if name not in _LANDING_COLUMNS and name != "client_ts"
    )
    con.execute(
        f"""
        create or replace temp table synthetic_events as
        select
            {typed},
            timezone('UTC', cast(event ->> 'timestamp' as timestamptz)) as client_ts,
            event ->> 'timestamp' as client_timestamp,
            status,
            event as payload,
            timezone('UTC', cast(received_at as timestamptz)) as received_at,
            timezone('UTC', cast(sent_at as timestamptz)) as sent_at,
            batch_id,
            connection_id,
            cast(timezone('UTC', cast(received_at as timestamptz)) as date) as receive_date,
            filename as shard_path,
            0 as line_number
        from read_json(
            '{landing}/events/*/*/*.jsonl', format = 'newline_delimited', filename = true,
            columns = {{received_at: 'varchar', sent_at: 'varchar', batch_id: 'varchar',
                connection_id: 'varchar', status: 'varchar', event: 'json'}}
        )
        qualify row_number() over (partition by event ->> 'event_id' order by received_at) = 1
        """
    )
    shutil.rmtree(work, ignore_errors=True)
    return True


_LANDING_COLUMNS = {
    "client_timestamp", "status", "payload", "received_at", "sent_at", "batch_id",
    "connection_id", "receive_date", "shard_path", "line_number",
}  # fmt: skip


def build_warehouse(path: Path, events: int, days: int, seed: int, simulator: bool) -> None:
    con = duckdb.connect(str(path))
    started = time.perf_counter()
    if not (simulator and load_from_simulator(con, events, days, seed)):
        synthesize(con, events, days, seed)
    create_event_table(con, "events")
    columns = ", ".join(EVENT_COLUMNS)
    con.execute(
        f"insert into raw.events select {columns} from synthetic_events order by received_at"
    )
    total = con.execute("select count(*) from raw.events").fetchone()[0]
    print(f"warehouse: {total:,} events in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    con.close()


def hold_back_last_day(path: Path) -> None:
    """Move the last full receive day (and any stragglers after it) into raw.held_back_events."""
    con = duckdb.connect(str(path))
    con.execute(
        """
        create or replace temp table last_day as
        with days as (select receive_date, count(*) as events from raw.events group by 1)
        select max(receive_date) as receive_date from days
        where events >= (select avg(events) / 2 from days)
        """
    )
    con.execute(
        "create or replace table raw.held_back_events as select * from raw.events "
        "where receive_date >= (select receive_date from last_day)"
    )
    con.execute("delete from raw.events where receive_date >= (select receive_date from last_day)")
    con.close()


def events_as_table(path: Path) -> None:
    """A warehouse built by Dagster has `raw.events` as a view of the kept copies: make it a
    table of them, so that the last day can be held back and appended like a load."""
    con = duckdb.connect(str(path))
    kind = con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = 'raw' and table_name = 'events'"
    ).fetchone()
    if kind == ("VIEW",):
        con.execute("create table raw.events_kept as select * from raw.events")
        con.execute("drop view raw.events")
        con.execute("drop table raw.raw_events")
        con.execute("alter table raw.events_kept rename to events")
    con.close()


def release_last_day(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("insert into raw.events select * from raw.held_back_events")
    con.execute("drop table raw.held_back_events")
    con.close()


def slowest_nodes(home: Path, count: int = 8) -> str:
    """The slowest nodes of the latest dbt run in `home`, from its run_results.json."""
    import json

    results = json.loads((home / "target" / "run_results.json").read_text())["results"]
    timed = sorted(((r["execution_time"], r["unique_id"].split(".")[2]) for r in results),
                   reverse=True)  # fmt: skip
    return ", ".join(f"{name} {seconds:.1f}" for seconds, name in timed[:count])


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def dbt(home: Path, *args: str) -> float:
    """Seconds of one dbt command; its peak RSS goes to PEAK_RSS (bytes)."""
    env = {**os.environ, "RESPAWN_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    # target and logs in the run's own directory: dbt_project/target belongs to Dagster
    command = [
        str(DBT), *args,
        "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
        "--target-path", str(home / "target"), "--log-path", str(home / "logs"),
    ]  # fmt: skip
    with measuring() as measured:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = measured().seconds
    PEAK_RSS[" ".join(args)] = measured().peak_rss
    if result.returncode != 0:
        sys.exit(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}")
    return elapsed


def bare_baseline(path: Path) -> float:
    """The sessions aggregation over every event, as one CREATE TABLE AS in DuckDB."""
    con = duckdb.connect(str(path))
    con.execute("set enable_progress_bar = false")
    started = time.perf_counter()
    con.execute(
        """
        create or replace temp table bare_sessions as
        select session_id, min(user_id) as user_id, min(client_ts) as started_at,
            max(client_ts) as ended_at, count(*) as events,
            count(*) filter (where event_name = 'match_played') as matches,
            count(*) filter (where result = 'win') as wins,
            count(*) filter (where disconnect_reason = 'quit') as quits
        from raw.events where status = 'valid'
        group by session_id
        """
    )
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--warehouse", type=Path, help="a warehouse whose raw.events is loaded")
    parser.add_argument("--events", type=int, default=10_000_000, help="events to generate")
    parser.add_argument("--days", type=int, default=40, help="days of data to generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--synthetic", action="store_true", help="skip the simulator")
    parser.add_argument(
        "--save-warehouse", type=Path, help="keep the generated raw.events there (for --warehouse)"
    )
    args = parser.parse_args(argv)
    print(f"load average at start: {load_average()}")

    work = Path(tempfile.mkdtemp(prefix="respawn-bench-dbt-"))
    try:
        warehouse = work / "warehouse.duckdb"
        if args.warehouse:
            shutil.copyfile(args.warehouse, warehouse)
            events_as_table(warehouse)
        else:
            build_warehouse(warehouse, args.events, args.days, args.seed, not args.synthetic)
            if args.save_warehouse:
                shutil.copyfile(warehouse, args.save_warehouse)
        hold_back_last_day(warehouse)
        full = dbt(work, *PRODUCTION_BUILD, "--full-refresh")
        full_nodes = slowest_nodes(work)
        release_last_day(warehouse)
        incremental = dbt(work, *PRODUCTION_BUILD)
        incremental_nodes = slowest_nodes(work)
        unit_tests = dbt(work, "test", "--select", "test_type:unit")
        bare = bare_baseline(warehouse)
        con = duckdb.connect(str(warehouse), read_only=True)
        events = con.execute("select count(*) from raw.events").fetchone()[0]
        features = con.execute("select count(*) from marts.churn_features").fetchone()[0]
        con.close()
        print(f"events: {events:,}  churn_features rows: {features:,}")
        print(f"full dbt build:        {full:8.1f} s   (goal <= 100 s)")
        print(f"  slowest: {full_nodes}")
        print(f"  (the unit tests, left out of the nightly build: {unit_tests:.1f} s on their own)")
        full_peak, incremental_peak = (
            PEAK_RSS[" ".join([*PRODUCTION_BUILD, "--full-refresh"])] / 1e9,
            PEAK_RSS[" ".join(PRODUCTION_BUILD)] / 1e9,
        )
        print(f"peak RSS of dbt: full {full_peak:.2f} GB, incremental {incremental_peak:.2f} GB")
        print(
            f"incremental (+1 day):  {incremental:8.1f} s   = {incremental / full:.0%} of full"
            " (goal <= 15%)"
        )
        print(f"  slowest: {incremental_nodes}")
        print(f"bare DuckDB sessions CTAS: {bare:5.1f} s   full build / bare = {full / bare:.1f}x")
        print(f"load average at the end: {load_average()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
