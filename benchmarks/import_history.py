"""Benchmark: `respawn import` of a history file into published landing shards.

    .venv/bin/python benchmarks/import_history.py                  # 1,000,000 events, gzipped
    .venv/bin/python benchmarks/import_history.py --events 200000  # a smoke run

Writes a history of N v1 events (players' sessions over `--days` days, in time order, as a
studio's export would be; gzipped unless `--plain`), then, in one run:
  ours  `import_file` (digest pass, contract validation, landed lines through
        `ingestion.landing.lines`, one published shard per (chunk, receive hour), the manifest):
        wall time, CPU time, peak memory, events per second;
  bare  the same file decompressed, each line parsed and written again by orjson into one
        file, nothing validated, nothing fsynced: our time as a ratio of it.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingestion.history.importer import CHUNK_LINES, import_file
from ingestion.history.source import open_content
from ingestion.landing.lines import format_ts

START = datetime(2024, 3, 1, tzinfo=UTC)


def write_history(path: Path, events: int, days: int, gz: bool) -> None:
    """Sessions of 8 events (a start, 6 matches, a quit), spread evenly over `days` days."""
    sessions = events // 8
    step = timedelta(days=days) / max(1, sessions)
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:  # type: ignore[operator]
        for s in range(sessions):
            user, sid = str(uuid.UUID(int=s % 5000, version=4)), str(uuid.uuid4())
            t = START + s * step
            base = {
                "event_version": "v1",
                "user_id": user,
                "session_id": sid,
                "client_version": "2.4.0",
                "platform": "web",
            }
            lines = [
                {
                    **base,
                    "event_name": "session_start",
                    "event_id": str(uuid.uuid4()),
                    "timestamp": format_ts(t),
                    "is_new_user": False,
                    "entry_point": "lobby",
                }
            ]
            for m in range(6):
                lines.append(
                    {
                        **base,
                        "event_name": "match_played",
                        "event_id": str(uuid.uuid4()),
                        "timestamp": format_ts(t + timedelta(minutes=5 * (m + 1))),
                        "match_id": str(uuid.uuid4()),
                        "match_duration_sec": 290,
                        "result": "win" if m % 2 else "loss",
                        "opponent_type": "human",
                    }
                )
            lines.append(
                {
                    **base,
                    "event_name": "disconnect",
                    "event_id": str(uuid.uuid4()),
                    "timestamp": format_ts(t + timedelta(minutes=31)),
                    "disconnect_reason": "quit",
                    "time_since_session_start_sec": 1860,
                }
            )
            f.write(b"".join(orjson.dumps(x) + b"\n" for x in lines))


def bare(path: Path, out: Path) -> float:
    started = time.perf_counter()
    with open_content(path) as f, out.open("wb") as sink:
        for line in f:
            event = orjson.loads(line)
            sink.write(orjson.dumps({"received_at": event["timestamp"], "event": event}) + b"\n")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=480)
    parser.add_argument("--plain", action="store_true", help="an uncompressed file")
    parser.add_argument("--chunk-lines", type=int, default=CHUNK_LINES)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        history = tmp / ("history.jsonl" if args.plain else "history.jsonl.gz")
        write_history(history, args.events, args.days, not args.plain)
        n = args.events // 8 * 8
        print(
            f"history: {n:,} events over {args.days} days, "
            f"{history.stat().st_size / 2**20:,.1f} MiB"
        )

        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = import_file(history, tmp / "landing", chunk_lines=args.chunk_lines)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert result.valid == n, result.counts()
        shards = result.shards_written
        bare_s = bare(history, tmp / "bare.jsonl")
        print(
            f"ours: {wall:,.1f} s wall, {cpu:,.1f} s CPU, {n / wall:,.0f} events/s, "
            f"{shards:,} shards, peak RSS {peak:,.0f} MiB (chunks of {args.chunk_lines:,} lines)"
        )
        print(f"bare: {bare_s:,.1f} s (decompress, orjson parse and write, one file)")
        print(f"ratio: {wall / bare_s:.2f}x bare  (cpus: {os.cpu_count()})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
