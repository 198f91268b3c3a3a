"""Writing shards: append to a hidden in-flight file on local disk, then publish it: by an
atomic rename into a local landing, by one conditional PUT into an object-storage one (the
writer's `LandingStore`, ingestion.landing.store).

A write or an fsync can fail (a full disk, an I/O error) after part of the data reached the file.
The writer knows its acknowledged length (what the last successful commit made durable), so it
cuts such a torn tail back to it and goes on in the same file: a published shard never holds a
torn line, and a failing disk does not leave a new in-flight file per failed commit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ingestion.landing.files import REAL_FILES, FileOps
from ingestion.landing.layout import (
    Stream,
    inflight_path,
    node_name,
    partition_dir,
    published_path,
    shard_name,
)
from ingestion.landing.lines import utc_now
from ingestion.landing.store import LandingStore, LocalStore, ShardExistsError, ShardLocation

__all__ = ["REAL_FILES", "FileOps", "ShardWriter", "publish"]  # FileOps: imported from here too


def publish(
    inflight: Path,
    fs: FileOps = REAL_FILES,
    *,
    landing_root: Path | None = None,
    store: LandingStore | None = None,
) -> ShardLocation:
    """Atomically make a closed in-flight shard under `landing_root` visible under its final
    name (in `store`, by default beside it)."""
    root = landing_root if landing_root is not None else published_path(inflight).parents[3]
    store = store or LocalStore(root)
    rel = published_path(inflight).relative_to(root).as_posix()
    final = store.publish(inflight, rel, fs)
    store.finish(inflight, final, fs)
    return final


class ShardWriter:
    """Appends lines to one in-flight shard of a stream and publishes it when it is full, old, or
    its hour ends. Not thread-safe: the ingestor calls it from one thread, the simulator from one
    loop. `write` buffers in the OS; `sync` makes what was written durable (fsync);
    `checkpoint` records that everything written so far is acknowledged; `rewind` cuts the file
    back to that point after a failure."""

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
        fs: FileOps = REAL_FILES,
        store: LandingStore | None = None,
        hand_off: Callable[[Path], None] | None = None,
    ) -> None:
        self.landing_root = landing_root
        self.store = store or LocalStore(landing_root)
        # Given, a finished shard is handed to it (closed, fsynced, still in flight) instead of
        # being published here: the ingestor PUTs it from another thread, so that a slow or
        # unreachable object store does not hold up its commits.
        self.hand_off = hand_off
        self.stream = stream
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self.node = node or node_name()
        self.pid = pid if pid is not None else os.getpid()
        self.start = start or utc_now()
        self.fs = fs
        self._seq = 0
        self._fd: int | None = None
        self._path: Path | None = None
        self._hour: tuple[int, int, int, int] | None = None
        self._bytes = 0  # written to the open shard
        self._acked = 0  # of which acknowledged: a failure cuts the file back to this length
        self._torn = False  # a write or sync failed since the last checkpoint
        self._opened_at = 0.0
        self.published: list[ShardLocation] = []

    @property
    def inflight(self) -> Path | None:
        return self._path

    @property
    def torn(self) -> bool:
        """Whether the open shard may end in a torn or unsynced tail (until `rewind`)."""
        return self._torn

    def _open(self, when: datetime) -> None:
        directory = partition_dir(self.landing_root, self.stream, when)
        self.fs.makedirs(directory)
        final = directory / shard_name(self.node, self.pid, self.start, self._seq + 1)
        path = inflight_path(final)
        fd = self.fs.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            self.fs.fsync_dir(directory)  # the in-flight file must survive a crash to be recovered
        except OSError:
            self.fs.close(fd)
            self.fs.unlink(path)
            raise
        self._seq += 1
        self._fd, self._path = fd, path
        when = when.astimezone(UTC)
        self._hour = (when.year, when.month, when.day, when.hour)
        self._bytes = self._acked = 0
        self._torn = False
        self._opened_at = time.monotonic()

    def write(self, data: bytes, when: datetime) -> None:
        """Append complete lines received at `when`, rotating first if `when` is another hour."""
        if not data:
            return
        if self._torn:
            self.rewind()
        w = when.astimezone(UTC)
        if self._fd is not None and self._hour != (w.year, w.month, w.day, w.hour):
            self.publish()
        if self._fd is None:
            self._open(w)
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                n = self.fs.write(self._fd, view)
                view = view[n:]
                self._bytes += n
        except OSError:
            self._torn = True
            raise

    def sync(self) -> None:
        if self._fd is not None:
            try:
                self.fs.fsync(self._fd)
            except OSError:
                self._torn = True  # what the failed fsync covered may or may not be on disk
                raise

    def checkpoint(self) -> None:
        """Everything written so far is acknowledged (written, and synced when that is asked)."""
        self._acked = self._bytes

    def rewind(self) -> None:
        """Cut the open shard back to its acknowledged length: the tail of a failed commit goes,
        and the same file takes the next write. Raises when the disk refuses even that."""
        if self._fd is None or (not self._torn and self._bytes == self._acked):
            self._torn = False
            return
        self._torn = True
        self.fs.truncate(self._fd, self._acked)
        self.fs.fsync(self._fd)
        self._bytes = self._acked
        self._torn = False

    def _rel(self, inflight: Path) -> str:
        return published_path(inflight).relative_to(self.landing_root).as_posix()

    def _rename_to_next(self, inflight: Path) -> Path:
        final = inflight.parent / shard_name(self.node, self.pid, self.start, self._seq + 1)
        renamed = inflight_path(final)
        self.fs.replace(inflight, renamed)
        self.fs.fsync_dir(renamed.parent)
        self._seq += 1
        self._path = renamed
        return renamed

    def due(self) -> bool:
        """Whether the open shard has reached its size or age and should be published."""
        if self._fd is None or self._bytes == 0:  # an empty shard waits for lines, unpublished
            return False
        return (
            self._bytes >= self.max_bytes
            or time.monotonic() - self._opened_at >= self.max_age_seconds
        )

    def publish(self) -> ShardLocation | None:
        """fsync and publish the open shard (cut back to its acknowledged length first when a
        failure tore it); an empty shard is removed instead. When publishing fails (a refused
        rename or PUT), the shard stays open and whole, and the next call tries again. With a
        `hand_off`, the finished shard goes to it instead (and None is returned)."""
        if self._fd is None or self._path is None:
            return None
        if self._torn:
            self.rewind()
        fd, path, empty = self._fd, self._path, self._bytes == 0
        self.fs.fsync(fd)
        final: ShardLocation | None = None
        if not empty and self.hand_off is not None:
            self._fd, self._path, self._hour = None, None, None
            self.fs.close(fd)
            self.hand_off(path)
            return None
        if not empty:
            try:
                final = self.store.publish(path, self._rel(path), self.fs)
            except ShardExistsError:
                # The name is taken: a PUT that went through though its answer was lost (then
                # the failed commit's lines were cut off, and others written). Publish under the
                # next name; the object keeps what it holds (copies are deduplicated downstream).
                path = self._rename_to_next(path)
                final = self.store.publish(path, self._rel(path), self.fs)
        self._fd, self._path, self._hour = None, None, None
        self.fs.close(fd)
        if final is None:
            self.fs.unlink(path)
            return None
        self.published.append(final)
        self.store.finish(path, final, self.fs)  # if this fails, the shard is published anyway
        return final
