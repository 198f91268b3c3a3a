"""Benchmark: publishing landing shards to S3-compatible object storage (a real SeaweedFS server).

    .venv/bin/python benchmarks/landing_s3.py                  # 1 MiB and 40 KiB shards
    .venv/bin/python benchmarks/landing_s3.py --shards 400 --shard-kib 4096

For each shard size, in one run against one server started for it:
  ours   the landing's own path, one shard after another (as the ingestor's commit thread does):
         `ShardWriter` with the `ObjectStore`: the in-flight file opened (and its directory
         fsynced), the lines written and fsynced, one PUT with If-None-Match: *, the in-flight
         file removed (and its directory fsynced);
  bare   s3fs `pipe_file` of the same bytes, one after another: a plain PUT and nothing else;
  local  the same writer publishing by a rename into a local landing (today's default).
It prints shards/s, events/s and MB/s, the latency of one publish (p50, p99), and ours as a
ratio of bare. A 40 KiB shard is what one commit of 100 events holds, so its publish latency is
what `--durability publish` adds to an ack; the 1 MiB shard stands for a rotation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingestion.landing.layout import Stream  # noqa: E402
from ingestion.landing.lines import event_line, format_ts  # noqa: E402
from ingestion.landing.store import LocalStore, ObjectStore  # noqa: E402
from ingestion.landing.writer import ShardWriter  # noqa: E402
from tests.support.seaweedfs import ACCESS_KEY, SECRET_KEY, seaweedfs_server  # noqa: E402

WHEN = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def shard_bytes(kib: int, seed: int) -> tuple[bytes, int]:
    """Landed lines of realistic events, about `kib` KiB; (bytes, lines)."""
    lines: list[bytes] = []
    size = 0
    i = 0
    received = format_ts(WHEN)
    while size < kib * 1024:
        event = {
            "event_name": "match_played",
            "event_version": "v1",
            "event_id": str(uuid.UUID(int=seed * 10**9 + i)),
            "user_id": str(uuid.UUID(int=i % 997)),
            "session_id": str(uuid.UUID(int=i % 9973)),
            "timestamp": received,
            "client_version": "1.4.2",
            "platform": "web",
            "match_id": str(uuid.UUID(int=i)),
            "match_duration_sec": 300 + i % 60,
            "result": "win" if i % 2 else "loss",
            "opponent_type": "human",
        }
        line = event_line(event, received, "c-1", "valid", received, f"b-{i // 100}")
        lines.append(line)
        size += len(line)
        i += 1
    return b"".join(lines), len(lines)


def timed(n: int, one: Callable[[int], None]) -> tuple[float, list[float]]:
    latencies = []
    started = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        one(i)
        latencies.append(time.perf_counter() - t)
    return time.perf_counter() - started, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_size(endpoint: str, workdir: Path, shards: int, kib: int) -> dict[str, object]:
    data, lines = shard_bytes(kib, kib)
    bucket = "bench"
    store = ObjectStore(
        f"s3://{bucket}/landing-{kib}", endpoint_url=endpoint, key=ACCESS_KEY, secret=SECRET_KEY
    )
    if not store.s3.exists(bucket):
        store.s3.mkdir(bucket)
    staging = workdir / f"staging-{kib}"
    writer = ShardWriter(staging, Stream.EVENTS, store=store, max_age_seconds=float("inf"))

    def ours(_: int) -> None:
        writer.write(data, WHEN)
        writer.sync()
        writer.publish()

    def bare(i: int) -> None:
        store.s3.pipe_file(f"{bucket}/bare-{kib}/{i:06d}.jsonl", data)

    local_root = workdir / f"local-{kib}"
    local = ShardWriter(
        local_root, Stream.EVENTS, store=LocalStore(local_root), max_age_seconds=float("inf")
    )

    def renamed(_: int) -> None:
        local.write(data, WHEN)
        local.sync()
        local.publish()

    bare(-1)  # the first request opens the connection: not part of either figure
    results: dict[str, tuple[float, list[float]]] = {}
    for name, fn in (("bare", bare), ("ours", ours), ("local", renamed)):
        results[name] = timed(shards, fn)
    assert len(store.published(Stream.EVENTS)) == shards, "every shard published"
    out: dict[str, object] = {"kib": len(data) / 1024, "lines": lines}
    for name, (seconds, lat) in results.items():
        out[name] = {
            "seconds": seconds,
            "shards/s": shards / seconds,
            "events/s": shards * lines / seconds,
            "MB/s": shards * len(data) / seconds / 1e6,
            "p50 ms": statistics.median(lat) * 1000,
            "p99 ms": pct(lat, 0.99) * 1000,
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shards", type=int, default=200, help="shards per size (%(default)s)")
    parser.add_argument(
        "--shard-kib",
        type=int,
        action="append",
        help="shard size in KiB, repeatable (default: 1024 and 40)",
    )
    args = parser.parse_args()
    sizes = args.shard_kib or [1024, 40]
    with tempfile.TemporaryDirectory(prefix="respawn-bench-s3-") as tmp:
        workdir = Path(tmp)
        print("starting SeaweedFS ...", file=sys.stderr)
        with seaweedfs_server(workdir) as server:
            for kib in sizes:
                r = run_size(server.endpoint_url, workdir, args.shards, kib)
                print(f"\n{args.shards} shards of {r['kib']:.0f} KiB ({r['lines']} events each)")
                print(
                    f"{'':6} {'shards/s':>9} {'events/s':>10} {'MB/s':>7} {'p50 ms':>7} "
                    f"{'p99 ms':>7}"
                )
                for name in ("ours", "bare", "local"):
                    m = r[name]
                    assert isinstance(m, dict)
                    print(
                        f"{name:6} {m['shards/s']:9.1f} {m['events/s']:10,.0f} {m['MB/s']:7.1f} "
                        f"{m['p50 ms']:7.1f} {m['p99 ms']:7.1f}"
                    )
                ours, bare = r["ours"], r["bare"]
                assert isinstance(ours, dict) and isinstance(bare, dict)
                print(f"ours / bare (time): {ours['seconds'] / bare['seconds']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
