"""Crash recovery: publish the in-flight shards a dead process left behind (into the landing's
store: renamed in place, or PUT to object storage, where a shard whose PUT had completed before
the crash is found already published with the same bytes)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ingestion.contract import Code, Failure
from ingestion.landing.files import REAL_FILES, FileOps
from ingestion.landing.layout import (
    Stream,
    inflight_path,
    inflight_shards,
    node_name,
    parse_shard_name,
    published_path,
    shard_name,
)
from ingestion.landing.lines import deadletter_line, format_ts, utc_now
from ingestion.landing.store import LandingStore, LocalStore, ShardExistsError, ShardLocation
from ingestion.landing.writer import ShardWriter, publish

LOCK_NAME = ".recovery.lock"


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
    published: list[ShardLocation]
    torn_lines: int


@contextlib.contextmanager
def _exclusive(landing_root: Path) -> Iterator[None]:
    """One recovery at a time on this host: the workers of one `respawn serve --workers N`, and
    its supervisor, may all recover the same dead process's shards."""
    landing_root.mkdir(parents=True, exist_ok=True)
    fd = os.open(landing_root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def recover_inflight(
    landing_root: Path,
    *,
    node: str | None = None,
    pid: int | None = None,
    keep_start: str | None = None,
    fs: FileOps = REAL_FILES,
    store: LandingStore | None = None,
) -> RecoveryReport:
    """Publish the in-flight shards that a dead process of this node left behind (only those of
    `pid` when it is given: a worker its supervisor just saw die).

    Complete lines are kept; a torn last line (a write cut by the crash, never acknowledged) goes
    to dead-letter as `torn_write`, durably, before it is cut off. Shards of live processes and
    of other nodes are left alone, so several ingestors can share one landing directory; so are
    this process's own current shards (their start is `keep_start`). A failure (a full disk)
    raises `OSError` and leaves every shard as it was or published: running again goes on."""
    node = node or node_name()
    store = store or LocalStore(landing_root)
    report = RecoveryReport([], 0)
    with _exclusive(landing_root):
        torn = ShardWriter(
            landing_root, Stream.DEADLETTER, node=node, start=utc_now(), fs=fs, store=store
        )
        renames = _Renames(node, torn.start)
        try:
            for path in inflight_shards(landing_root):
                name = parse_shard_name(path.name)
                if name is None or name.node != node or not path.exists():
                    continue
                if pid is not None and name.pid != pid:
                    continue
                if name.pid == os.getpid() and name.start == keep_start:
                    continue
                if pid is None and name.pid != os.getpid() and _pid_alive(name.pid):
                    continue
                if _recover_one(path, torn, fs):
                    report.torn_lines += 1
                if path.exists():
                    report.published.append(_publish(path, landing_root, store, fs, renames))
            torn.publish()
        except OSError:
            with contextlib.suppress(OSError):
                torn.rewind()  # a torn line that could not be made durable goes, whole
            raise
        finally:
            report.published.extend(torn.published)
    return report


class _Renames:
    """Names of this recovery's own, for shards whose name is taken (see `_publish`)."""

    def __init__(self, node: str, torn_start: datetime) -> None:
        # Not the torn writer's names: a start one microsecond after its own.
        self.node, self.start, self.seq = node, torn_start + timedelta(microseconds=1), 0

    def next(self, inflight: Path) -> Path:
        self.seq += 1
        return inflight_path(
            inflight.parent / shard_name(self.node, os.getpid(), self.start, self.seq)
        )


def _publish(
    path: Path, landing_root: Path, store: LandingStore, fs: FileOps, renames: _Renames
) -> ShardLocation:
    try:
        return publish(path, fs, landing_root=landing_root, store=store)
    except ShardExistsError:
        # The name holds other bytes: a PUT that went through though its answer was lost, after
        # which the dead process cut the file back. Publish what the file holds under a name of
        # this recovery: the object keeps its own lines (copies are deduplicated downstream).
        renamed = renames.next(path)
        fs.replace(path, renamed)
        fs.fsync_dir(renamed.parent)
        return publish(renamed, fs, landing_root=landing_root, store=store)


def _recover_one(path: Path, torn: ShardWriter, fs: FileOps) -> bool:
    """Cut a torn last line off an in-flight shard (dead-lettered first); remove the shard when
    nothing complete is left. True when there was a torn line."""
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    if cut < len(data):
        now = utc_now()
        failure = Failure(
            Code.TORN_WRITE,
            None,
            f"incomplete last line of {published_path(path).name} after a crash",
        )
        torn.write(deadletter_line(data[cut:], failure, format_ts(now), None), now)
        torn.sync()
        torn.checkpoint()
        fd = fs.open(path, os.O_WRONLY, 0)
        try:
            fs.truncate(fd, cut)
            fs.fsync(fd)
        finally:
            fs.close(fd)
    if cut == 0:
        fs.unlink(path)
    return cut < len(data)
