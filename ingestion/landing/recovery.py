"""Crash recovery: publish the in-flight shards a dead process left behind."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ingestion.contract import Code, Failure
from ingestion.landing.layout import (
    Stream,
    inflight_shards,
    node_name,
    parse_shard_name,
    published_path,
)
from ingestion.landing.lines import deadletter_line, format_ts, utc_now
from ingestion.landing.writer import ShardWriter, publish


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RecoveryReport:
    published: list[Path]
    torn_lines: int


def recover_inflight(landing_root: Path, *, node: str | None = None) -> RecoveryReport:
    """Publish the in-flight shards that a dead process of this node left behind.

    Complete lines are kept; a torn last line (a write cut by the crash, never acknowledged) goes
    to dead-letter as `torn_write`. Shards of live processes and of other nodes are left alone,
    so several ingestors can share one landing directory."""
    node = node or node_name()
    report = RecoveryReport([], 0)
    torn = ShardWriter(landing_root, Stream.DEADLETTER, node=node, start=utc_now())
    for path in inflight_shards(landing_root):
        name = parse_shard_name(path.name)
        if name is None or name.node != node:
            continue
        if name.pid != os.getpid() and _pid_alive(name.pid):
            continue
        data = path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):
            tail = data[cut:]
            now = utc_now()
            torn.write(
                deadletter_line(
                    tail.decode("utf-8", errors="replace"),
                    Failure(
                        Code.TORN_WRITE,
                        None,
                        f"incomplete last line of {published_path(path).name} after a crash",
                    ),
                    format_ts(now),
                    None,
                ),
                now,
            )
            report.torn_lines += 1
            with path.open("r+b") as f:
                f.truncate(cut)
                os.fsync(f.fileno())
        if cut == 0:
            path.unlink()
            continue
        report.published.append(publish(path))
    torn.publish()
    report.published.extend(torn.published)
    return report
