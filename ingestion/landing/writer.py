"""Writing shards: append to a hidden in-flight file, then publish it by an atomic rename."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from ingestion.landing.layout import (
    Stream,
    inflight_path,
    node_name,
    partition_dir,
    published_path,
    shard_name,
)
from ingestion.landing.lines import utc_now


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(inflight: Path) -> Path:
    """Atomically make an in-flight shard visible under its final name."""
    final = published_path(inflight)
    os.replace(inflight, final)
    fsync_dir(final.parent)
    return final


class ShardWriter:
    """Appends lines to one in-flight shard of a stream and publishes it when it is full, old, or
    its hour ends. Not thread-safe: the ingestor calls it from one task, the simulator from one
    loop. `write` buffers in the OS; `sync` makes what was written durable (fsync)."""

    def __init__(
        self,
        landing_root: Path,
        stream: Stream,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_age_seconds: float = 60.0,
        node: str | None = None,
        pid: int | None = None,
        start: datetime | None = None,
    ) -> None:
        self.landing_root = landing_root
        self.stream = stream
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self.node = node or node_name()
        self.pid = pid if pid is not None else os.getpid()
        self.start = start or utc_now()
        self._seq = 0
        self._fd: int | None = None
        self._path: Path | None = None
        self._hour: tuple[int, int, int, int] | None = None
        self._bytes = 0
        self._opened_at = 0.0
        self.published: list[Path] = []

    @property
    def inflight(self) -> Path | None:
        return self._path

    def _open(self, when: datetime) -> None:
        directory = partition_dir(self.landing_root, self.stream, when)
        directory.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        final = directory / shard_name(self.node, self.pid, self.start, self._seq)
        self._path = inflight_path(final)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        fsync_dir(directory)  # the in-flight file itself must survive a crash to be recovered
        when = when.astimezone(UTC)
        self._hour = (when.year, when.month, when.day, when.hour)
        self._bytes = 0
        self._opened_at = time.monotonic()

    def write(self, data: bytes, when: datetime) -> None:
        """Append complete lines received at `when`, rotating first if `when` is another hour."""
        if not data:
            return
        w = when.astimezone(UTC)
        if self._fd is not None and self._hour != (w.year, w.month, w.day, w.hour):
            self.publish()
        if self._fd is None:
            self._open(w)
        assert self._fd is not None
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self._bytes += len(data)

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def due(self) -> bool:
        """Whether the open shard has reached its size or age and should be published."""
        if self._fd is None:
            return False
        return (
            self._bytes >= self.max_bytes
            or time.monotonic() - self._opened_at >= self.max_age_seconds
        )

    def publish(self) -> Path | None:
        """fsync and publish the open shard; an empty shard is removed instead."""
        if self._fd is None or self._path is None:
            return None
        os.fsync(self._fd)
        os.close(self._fd)
        path, empty = self._path, self._bytes == 0
        self._fd, self._path, self._hour = None, None, None
        if empty:
            path.unlink()
            return None
        final = publish(path)
        self.published.append(final)
        return final

    def abandon(self) -> Path | None:
        """Stop writing to the open shard without publishing it, after a failed write or fsync:
        its tail may be torn, so it is left in flight for `recover_inflight` at the next start.
        The next `write` opens a new shard."""
        if self._fd is None:
            return None
        path = self._path
        try:
            os.close(self._fd)
        finally:
            self._fd, self._path, self._hour = None, None, None
        return path
