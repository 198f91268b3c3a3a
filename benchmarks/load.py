"""Benchmark: landed shards -> raw_events -> events, through the Dagster asset code.

    .venv/bin/respawn simulate --events 10000000 --days 40 --seed 7 --start 2026-01-01 \
        --to-landing /tmp/bench10m/landing --truth-dir /tmp/bench10m/truth
    .venv/bin/python benchmarks/load.py --landing /tmp/bench10m/landing   # the issue's size
    .venv/bin/python benchmarks/load.py --events 300000 --days 3           # a smoke run

Reads a landing written beforehand (`--landing`: hard-linked into a temp dir, never changed), or
writes N events over `--days` + 1 receive dates (a fast generator of landed lines, or `--source
simulate` for the simulator). The last day is held back; then, in one run:
  ours       the other days materialized as a backfill does it: runs of up to 7 partitions
             (the assets' backfill policy), each one `dagster.materialize` of load_landed_shards
             and deduplicate_events over its range: wall time, CPU time and peak memory;
  bare       DuckDB alone on the same files: `read_json` into a table, then keep-first
             `row_number()` per event_id into another; our time as a ratio of it (per event:
             both read the same lines);
  increment  the held-back day on top of the others, as the nightly run loads it, against the
             full load above.
Goals (issue 18, 10M events, 2 cores): <= 2.0x bare per event, peak memory < 4 GB, the one-day
increment <= 5% of the full load.
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
from collections.abc import Callable, Iterator, Sequence
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
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


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
    cpu_seconds: float = 0.0  # user + system, this process and its children (load-proof)


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


@contextmanager
def measuring() -> Iterator[Callable[[], Measure]]:
    """Wall time, CPU time and peak RSS (sampled every 50 ms) of what runs inside."""
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
    started, cpu = time.perf_counter(), _cpu(proc)
    result: dict[str, Measure] = {}
    try:
        yield lambda: result["m"]
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        thread.join()
        result["m"] = Measure(elapsed, peak, _cpu(proc) - cpu)


def backfill_runs(days: Sequence[date]) -> list[list[date]]:
    """The runs a backfill of `days` makes: consecutive ranges of the assets' backfill policy."""
    from orchestration.partitions import BACKFILL_POLICY

    size = BACKFILL_POLICY.max_partitions_per_run or len(days)
    return [list(days[i : i + size]) for i in range(0, len(days), size)]


def materialize_days(home: Path, days: Sequence[date]) -> dict[str, float]:
    """Materialize the days as a backfill (one run per range); returns the seconds the asset
    steps reported."""
    import dagster as dg

    from orchestration.landing.assets import load_landed_shards
    from orchestration.resources import build_resources
    from orchestration.warehouse.assets import deduplicate_events

    resources = build_resources(home)
    steps = {"load": 0.0, "merge": 0.0}
    with dg.DagsterInstance.ephemeral() as instance:
        for run in tqdm(backfill_runs(days), unit="run", desc="ours", file=sys.stderr):
            result = dg.materialize(
                [load_landed_shards, deduplicate_events],
                resources=resources,
                instance=instance,
                run_config=QUIET,
                tags={
                    "dagster/asset_partition_range_start": run[0].isoformat(),
                    "dagster/asset_partition_range_end": run[-1].isoformat(),
                },
            )
            assert result.success
            # A range run materializes each asset once per day, with the run's figures on each.
            for node, step, figure in (
                ("load_landed_shards", "load", "load seconds"),
                ("deduplicate_events", "merge", "merge seconds"),
            ):
                seconds = {
                    m.asset_key: m.metadata[figure].value
                    for m in result.asset_materializations_for_node(node)
                    if figure in m.metadata
                }
                steps[step] += sum(seconds.values())
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


def link_landing(source: Path, root: Path) -> None:
    """A landing written beforehand, hard-linked (instant, and the source is never changed)."""
    if not (source / Stream.EVENTS).is_dir():
        raise SystemExit(f"{source} holds no {Stream.EVENTS}/ folder: not a landing root")
    shutil.copytree(source, root, copy_function=os.link)


def landed_days(root: Path) -> list[date]:
    return sorted(date.fromisoformat(p.name[3:]) for p in (root / Stream.EVENTS).glob("dt=*"))


def _line(name: str, m: Measure, lines: int, extra: str = "") -> str:
    return (
        f"{name:<10} {m.seconds:8.1f} s  {lines / m.seconds:>9,.0f} events/s  "
        f"cpu {m.cpu_seconds:7.1f} s  peak {m.peak_rss / 1e9:5.2f} GB{extra}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--landing", type=Path, default=None, help="a landing root to reuse")
    parser.add_argument("--events", type=int, default=10_000_000, help="events over --days")
    parser.add_argument("--days", type=int, default=10, help="days of history")
    parser.add_argument("--source", choices=("synthetic", "simulate"), default="synthetic")
    parser.add_argument("--players", type=int, default=20_000, help="with --source simulate")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="respawn-bench-load-"))
    home = workdir / "home"
    os.environ["RESPAWN_HOME"] = str(home)
    root = landing_root(home)
    try:
        if args.landing is not None:
            link_landing(args.landing, root)
        elif args.source == "simulate":
            simulate_landing(home, args.players, args.days + 1)
        else:
            write_landing(root, args.events * (args.days + 1) // args.days, args.days + 1)
        *days, extra = landed_days(root)
        # The last day is hidden until the increment.
        hidden = workdir / "hidden"
        for stream in Stream:
            source = root / stream / f"dt={extra:%Y-%m-%d}"
            if source.exists():
                shutil.move(str(source), str(hidden / stream))
        lines = landed_lines(home)
        size = sum(p.stat().st_size for p in published_shards(root, Stream.EVENTS))
        print(f"landing: {lines:,} event lines ({size / 1e9:.2f} GB) over {len(days)} days")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

        import orchestration.definitions  # noqa: F401  (imports are not the load's time)

        with measuring() as ours:
            steps = materialize_days(home, days)
        with duckdb.connect(str(warehouse_path(home)), read_only=True) as events:
            kept = events.execute("select count(*) from raw.events").fetchone()[0]

        with measuring() as bare:
            bare_kept = bare_duckdb(home, workdir / "bare.duckdb")

        for stream in Stream:
            if (hidden / stream).exists():
                shutil.move(str(hidden / stream), str(root / stream / f"dt={extra}"))
        extra_lines = landed_lines(home) - lines
        with measuring() as increment:
            materialize_days(home, [extra])

        o, b, i = ours(), bare(), increment()
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(_line("ours", o, lines, f"  ({kept:,} unique events kept)"))
        print(_line("bare", b, lines, f"  ({bare_kept:,} unique)"))
        print(
            f"           in the assets: load {steps['load']:.1f} s + dedupe/validate "
            f"{steps['merge']:.1f} s; the rest is Dagster ({len(backfill_runs(days))} runs)"
        )
        print(
            f"ratio:     {o.seconds / b.seconds:8.2f} x bare per event (goal <= 2.0); "
            f"CPU {o.cpu_seconds / b.cpu_seconds:.2f} x"
        )
        print(
            f"files:     warehouse {warehouse_path(home).stat().st_size / 1e9:.2f} GB, "
            f"bare {(workdir / 'bare.duckdb').stat().st_size / 1e9:.2f} GB"
        )
        print(
            f"increment: {i.seconds:8.1f} s for {extra} ({extra_lines:,} lines) on top of "
            f"{len(days)} days = {i.seconds / o.seconds:.1%} of the full load (goal <= 5%; "
            f"CPU {i.cpu_seconds:.1f} s, peak {i.peak_rss / 1e9:.2f} GB)"
        )
        if kept != bare_kept:
            print(f"note: ours kept {kept:,} events, bare {bare_kept:,}", file=sys.stderr)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
