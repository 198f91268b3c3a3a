"""Benchmark: landed shards -> raw_events -> events, through the Dagster asset code.

    .venv/bin/python benchmarks/load.py --events 10000000 --days 10        # the issue's size
    .venv/bin/python benchmarks/load.py --events 300000 --days 3           # a smoke run

Writes N events over `--days` receive dates of landing shards (a fast generator of landed lines,
or `--source simulate` for the simulator's `--to-landing`), then measures in one run:
  ours       every day materialized in order (load_landed_shards + deduplicate_events, one
             `dagster.materialize` per partition): events/s end to end and peak memory;
  bare       DuckDB alone on the same files: `read_json` into a table, then `row_number()` over
             event_id keep-first into another; our time as a ratio of it;
  increment  one more day on top of the `--days` of history, against the full load above.
Goals (2 cores): >= 150,000 events/s, <= 1.4x bare, < 6 GB peak, increment a small fraction.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import psutil
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingestion.landing.layout import Stream, published_shards
from ingestion.landing.writer import ShardWriter
from ingestion.settings import landing_root, warehouse_path

FIRST_DAY = date(2026, 1, 1)
DUPLICATE_SHARE = 0.01  # client resends: a copy of an earlier line, later
DEADLETTER_SHARE = 0.002


# -- landing data -------------------------------------------------------------------------------


def _uuids(rng: random.Random, n: int) -> Iterator[str]:
    for _ in range(n):
        h = f"{rng.getrandbits(128):032x}"
        yield f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


_MATCH = (
    '{{"received_at":"{r}","sent_at":"{r}","batch_id":"{b}","connection_id":"c{c}",'
    '"status":"valid","event":{{"event_name":"match_played","event_version":"v1",'
    '"event_id":"{e}","user_id":"{u}","session_id":"{s}","timestamp":"{t}",'
    '"client_version":"1.4.2","platform":"web","match_id":"{m}","match_duration_sec":{d},'
    '"result":"{res}","opponent_type":"{o}"}}}}\n'
)
_DEAD = (
    '{{"received_at":"{r}","sent_at":null,"batch_id":null,"connection_id":"c1","index":null,'
    '"failure":{{"code":"invalid_json","field":null,"message":"frame is not JSON"}},'
    '"raw":"{{not json"}}\n'
)


def write_landing(root: Path, events: int, days: int, seed: int = 7) -> None:
    """`events` landed lines per `days` receive dates (plus ~1% resent copies), fast."""
    rng = random.Random(seed)
    users = list(_uuids(rng, max(100, events // 500)))
    per_day = events // days
    bar = tqdm(total=events, unit="event", desc="landing", file=sys.stderr)
    for d in range(days):
        day = datetime.combine(FIRST_DAY + timedelta(days=d), datetime.min.time(), tzinfo=UTC)
        writer = ShardWriter(
            root, Stream.EVENTS, max_bytes=64 * 1024 * 1024, node="bench", pid=d + 1
        )
        dead = ShardWriter(root, Stream.DEADLETTER, node="bench", pid=d + 1)
        recent: list[bytes] = []
        ids = _uuids(rng, per_day)
        for i, event_id in enumerate(ids):
            when = day + timedelta(microseconds=int(i * 86_400_000_000 / per_day))
            ts = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            line = _MATCH.format(
                r=ts,
                b=i // 50,
                c=i % 8,
                e=event_id,
                u=users[i % len(users)],
                s=users[(i * 7) % len(users)],
                t=ts,
                m=event_id,
                d=60 + i % 900,
                res=("win", "loss", "disconnect")[i % 3],
                o=("human", "bot")[i % 2],
            ).encode()
            writer.write(line, when)
            recent.append(line)
            if rng.random() < DUPLICATE_SHARE and recent:  # a resend of an earlier line
                writer.write(recent[rng.randrange(len(recent))], when)
            if len(recent) > 1000:
                recent = recent[-100:]
            if rng.random() < DEADLETTER_SHARE:
                dead.write(_DEAD.format(r=ts).encode(), when)
            if i % 50_000 == 0:
                bar.update(min(50_000, per_day - i))
        writer.publish()
        dead.publish()
    bar.close()


def simulate_landing(home: Path, players: int, days: int) -> None:
    from ingestion.simulator.config import SimConfig
    from ingestion.simulator.to_landing import run_to_landing

    cfg = SimConfig(players=players, days=days, start=FIRST_DAY)
    run_to_landing(cfg, landing_root(home), home / "truth")


# -- measurement ----------------------------------------------------------------------------------


@dataclass
class Measure:
    seconds: float
    peak_rss: int  # bytes, this process and its children


@contextmanager
def measuring() -> Iterator[Callable[[], Measure]]:
    """Wall time and peak RSS (sampled every 50 ms) of what runs inside."""
    proc = psutil.Process()
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            rss = proc.memory_info().rss + sum(
                c.memory_info().rss for c in proc.children(recursive=True)
            )
            peak = max(peak, rss)
            stop.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    started = time.perf_counter()
    result: dict[str, Measure] = {}
    try:
        yield lambda: result["m"]
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        thread.join()
        result["m"] = Measure(elapsed, peak)


def materialize_days(home: Path, days: list[date]) -> dict[str, float]:
    """Materialize the days in order; returns the seconds each asset step reported."""
    import dagster as dg

    from orchestration.landing.assets import load_landed_shards
    from orchestration.resources import build_resources
    from orchestration.warehouse.assets import deduplicate_events

    resources = build_resources(home)
    steps = {"load": 0.0, "merge": 0.0}
    with dg.DagsterInstance.ephemeral() as instance:
        for day in tqdm(days, unit="day", desc="ours", file=sys.stderr):
            result = dg.materialize(
                [load_landed_shards, deduplicate_events],
                partition_key=day.isoformat(),
                resources=resources,
                instance=instance,
            )
            assert result.success
            for m in result.asset_materializations_for_node("load_landed_shards"):
                steps["load"] += m.metadata["load seconds"].value
            for m in result.asset_materializations_for_node("deduplicate_events"):
                if "merge seconds" in m.metadata:
                    steps["merge"] += m.metadata["merge seconds"].value
    return steps


def bare_duckdb(home: Path, database: Path) -> int:
    files = [str(p) for p in published_shards(landing_root(home), Stream.EVENTS)]
    con = duckdb.connect(str(database))
    try:
        con.execute(
            "create table landed as select * from read_json(?, format='newline_delimited')",
            [files],
        )
        con.execute(
            "create table deduplicated as select * from landed "
            "qualify row_number() over (partition by event.event_id order by received_at) = 1"
        )
        return con.execute("select count(*) from deduplicated").fetchone()[0]
    finally:
        con.close()


def landed_lines(home: Path) -> int:
    total = 0
    for path in published_shards(landing_root(home), Stream.EVENTS):
        with path.open("rb") as f:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 22), b""))
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events over --days")
    parser.add_argument("--days", type=int, default=10, help="days of history")
    parser.add_argument("--source", choices=("synthetic", "simulate"), default="synthetic")
    parser.add_argument("--players", type=int, default=20_000, help="with --source simulate")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="respawn-bench-load-"))
    home = workdir / "home"
    os.environ["RESPAWN_HOME"] = str(home)
    days = [FIRST_DAY + timedelta(days=d) for d in range(args.days)]
    extra = FIRST_DAY + timedelta(days=args.days)
    try:
        # history + one more day, written up front; the extra day is hidden until the increment
        if args.source == "simulate":
            simulate_landing(home, args.players, args.days + 1)
        else:
            write_landing(
                landing_root(home), args.events * (args.days + 1) // args.days, args.days + 1
            )
        hidden = workdir / "hidden"
        for stream in Stream:
            source = landing_root(home) / stream / f"dt={extra:%Y-%m-%d}"
            if source.exists():
                shutil.move(str(source), str(hidden / stream))
        lines = landed_lines(home)
        size = sum(p.stat().st_size for p in published_shards(landing_root(home), Stream.EVENTS))
        print(f"landing: {lines:,} event lines ({size / 1e9:.2f} GB) over {len(days)} days")

        import orchestration.definitions  # noqa: F401  (imports are not the load's time)

        with measuring() as ours:
            steps = materialize_days(home, days)
        events = duckdb.connect(str(warehouse_path(home)), read_only=True)
        kept = events.execute("select count(*) from raw.events").fetchone()[0]
        events.close()

        with measuring() as bare:
            bare_kept = bare_duckdb(home, workdir / "bare.duckdb")

        for stream in Stream:
            if (hidden / stream).exists():
                shutil.move(str(hidden / stream), str(landing_root(home) / stream / f"dt={extra}"))
        with measuring() as increment:
            materialize_days(home, [extra])

        o, b, i = ours(), bare(), increment()
        print(
            f"ours:      {o.seconds:8.1f} s  {lines / o.seconds:>10,.0f} events/s  "
            f"peak {o.peak_rss / 1e9:.2f} GB  ({kept:,} unique events kept)"
        )
        print(
            f"bare:      {b.seconds:8.1f} s  {lines / b.seconds:>10,.0f} events/s  "
            f"peak {b.peak_rss / 1e9:.2f} GB  ({bare_kept:,} unique)"
        )
        print(
            f"           load {steps['load']:.1f} s + dedupe/validate {steps['merge']:.1f} s "
            f"in the assets; the rest is Dagster's run overhead"
        )
        print(f"ratio:     {o.seconds / b.seconds:8.2f} x bare (goal <= 1.4)")
        print(
            f"files:     warehouse {warehouse_path(home).stat().st_size / 1e9:.2f} GB, "
            f"bare {(workdir / 'bare.duckdb').stat().st_size / 1e9:.2f} GB"
        )
        print(
            f"increment: {i.seconds:8.1f} s for day {len(days) + 1} on top of {len(days)} days "
            f"= {i.seconds / o.seconds:.1%} of the full load (peak {i.peak_rss / 1e9:.2f} GB)"
        )
        if kept != bare_kept:
            print(f"WARNING: ours kept {kept:,} events, bare {bare_kept:,}", file=sys.stderr)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
