"""Benchmark of `respawn simulate --to-landing`: events/s into published shards, against a ceiling.

    .venv/bin/python benchmarks/simulate.py            # 10,000,000 events, 30 days
    .venv/bin/python benchmarks/simulate.py --quick    # 1,000,000 events (smoke run)

The simulator runs as the command does (`run_to_landing`, one worker process per core, every
fault at its default rate): players are generated, delivered by their devices and landed through
`ShardWriter` into published hourly shards. The population is sized with `--events`' own
estimate. The bare baseline in the same run writes the same number of lines, pre-built (the
simulator's own landed lines, decoded to dicts beforehand), with orjson to one file in one
process, then fsyncs it: the cost of producing the bytes without simulating anything. Printed: both
rates and the simulator's rate as a share of the baseline's, then where one process spends its
CPU per event on a sample of the same population (`--sample` players): the behaviour model
(numpy) and decoding it into Python objects, device delivery (event dicts, faults), the
landing's line encoding (`to_landing.land_frame`, no disk) and the truth rows.

Goal (2 cores): 10 million events in a couple of minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingestion.landing.layout import Stream, published_shards  # noqa: E402
from ingestion.simulator.behaviour import Decoder, simulate_chunk  # noqa: E402
from ingestion.simulator.config import SimConfig  # noqa: E402
from ingestion.simulator.players import deliver, devices, events_per_player  # noqa: E402
from ingestion.simulator.summary import Counts  # noqa: E402
from ingestion.simulator.to_landing import HourShards, land_frame, run_to_landing  # noqa: E402
from ingestion.simulator.truth import TruthParts  # noqa: E402

SAMPLE_LINES = 200_000


def baseline(lines: int, sample: list[dict], path: Path) -> float:
    """Seconds to encode `lines` pre-built lines with orjson and write them to one file."""
    dumps, option, k = orjson.dumps, orjson.OPT_APPEND_NEWLINE, len(sample)
    started = time.perf_counter()
    with path.open("wb") as f:
        chunk: list[bytes] = []
        for i in range(lines):
            chunk.append(dumps(sample[i % k], option=option))
            if len(chunk) == 10_000:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter() - started


def breakdown(cfg: SimConfig, players: int, scratch: Path) -> tuple[int, dict[str, float]]:
    """(event copies, seconds per stage) for the first `players` players, in this one process,
    streamed a decode batch at a time as `to_landing` does (holding everything would make the
    cyclic garbage collector, not the stages, the cost)."""
    seconds = dict.fromkeys(("behaviour", "decode", "delivery", "encode", "truth"), 0.0)
    clock = time.perf_counter
    t = clock()
    chunk = simulate_chunk(cfg, 0, players)
    seconds["behaviour"] = clock() - t
    shards, counts, truth = HourShards(scratch, datetime.now(UTC)), Counts(), TruthParts()
    t = clock()
    decoder = Decoder(chunk)
    seconds["decode"] += clock() - t
    for p0 in range(0, players, 2048):
        t0 = clock()
        lives = decoder.lives(p0, min(players, p0 + 2048))
        t1 = clock()
        seconds["decode"] += t1 - t0
        batch = devices(cfg, decoder, p0, min(players, p0 + 2048))
        seconds["delivery"] += clock() - t1
        for life, device in zip(lives, batch, strict=True):
            t0 = clock()
            delivery = deliver(cfg, life, device)
            t1 = clock()
            for frame in delivery.frames:
                land_frame(frame, shards, counts)
            t2 = clock()
            truth.add(life, delivery)
            t3 = clock()
            seconds["delivery"] += t1 - t0
            seconds["encode"] += t2 - t1
            seconds["truth"] += t3 - t2
        shards.buffers.clear()  # what a flush would write: not measured here
        truth.take()
    shards.pool.shutdown()
    return counts.events_sent, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events to simulate")
    parser.add_argument("--quick", action="store_true", help="1,000,000 events")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="keep the output in this dir")
    parser.add_argument("--profile", default="default", help="simulation profile")
    parser.add_argument("--sample", type=int, default=20_000, help="players of the breakdown")
    args = parser.parse_args()
    events = 1_000_000 if args.quick else args.events
    workers = args.workers or os.cpu_count() or 1

    cfg = SimConfig(
        players=1, days=args.days, start=date(2026, 1, 1), seed=args.seed, profile=args.profile
    )
    players = max(1, round(events / events_per_player(cfg)))
    cfg = replace(cfg, players=players)
    out = args.keep or Path(tempfile.mkdtemp(prefix="respawn-bench-simulate-"))
    print(
        f"simulating {players:,} players over {cfg.days} days (~{events:,} events) with "
        f"{workers} worker(s) into {out}",
        file=sys.stderr,
    )
    try:
        started = time.perf_counter()
        counts = run_to_landing(cfg, out / "landing", out / "truth", workers, show_progress=True)
        seconds = time.perf_counter() - started
        lines = counts.landed_lines + counts.deadletter_lines
        shards = published_shards(out / "landing", Stream.EVENTS)
        days = len({p.parent.parent.name for p in shards})

        sample: list[dict] = []
        for shard in shards:
            with shard.open("rb") as f:
                sample.extend(orjson.loads(line) for line in f)
            if len(sample) >= SAMPLE_LINES:
                break
        bare = baseline(lines, sample, out / "baseline.jsonl")
        sampled, stages = breakdown(cfg, min(args.sample, players), out / "scratch")
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)

    rate, bare_rate = lines / seconds, lines / bare
    print(
        f"simulate --to-landing: {lines:,} lines ({counts.events:,} distinct events, "
        f"{counts.players:,} players, {counts.sessions:,} sessions) in {seconds:.1f} s = "
        f"{rate:,.0f} events/s; {counts.shards:,} shards over {days} days, {workers} workers"
    )
    print(
        f"baseline (orjson pre-built lines to one file, 1 process): {bare:.1f} s = "
        f"{bare_rate:,.0f} lines/s"
    )
    print(f"ratio simulator / baseline: {rate / bare_rate:.2f}")
    total = sum(stages.values())
    print(
        f"one process, {sampled:,} event copies: {total / sampled * 1e6:.2f} us per event = "
        + ", ".join(
            f"{name} {s / sampled * 1e6:.2f} ({s / total:.0%})" for name, s in stages.items()
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
