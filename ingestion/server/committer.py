"""Group commit: the lines of many frames, from every connection, reach the disk together.

Frames hand their lines to `submit` and get the future of the current commit. One dedicated
thread owns the shard writers: it appends what was submitted, makes it durable with a single
fsync per stream (`--durability fsync`) and publishes shards that are due; then the future is
resolved and the frames' acks may go out. Whatever arrives during an fsync rides the next one, so
the fsync rate stays bounded by the disk while throughput grows with the load.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from ingestion.landing.layout import Stream, node_name, parse_shard_name, shard_name
from ingestion.landing.lines import utc_now
from ingestion.landing.recovery import recover_inflight
from ingestion.landing.writer import REAL_FILES, FileOps, ShardWriter

log = logging.getLogger("respawn.serve.committer")

Hour = tuple[int, int, int, int]
Chunk = tuple[datetime, bytes, bytes]  # receive time (UTC), landed lines, dead-letter lines


PROBE_HEADROOM = 1024 * 1024


class StorageError(OSError):
    """Writing or syncing a shard failed: nothing of that commit may be acknowledged."""


class GroupCommitter:
    """Owns the shard writers of one server process (one thread touches them: no lock).

    After a failed commit the writers are cut back to what was acknowledged (`rewind`) and kept:
    the next commit appends to the same in-flight files, shards that hold acknowledged lines are
    still published by age, `close` publishes everything. `maintain` (called periodically by the
    server) publishes due shards, finishes the recovery of a predecessor's in-flight shards, and
    once the disk takes data again marks the committer healthy."""

    def __init__(
        self,
        landing_root: Path,
        *,
        fsync: bool = True,
        max_bytes: int = 64 * 1024 * 1024,
        max_age_seconds: float = 60.0,
        on_commit: Callable[[int, float], None] | None = None,
        on_publish: Callable[[Stream, Path], None] | None = None,
        recover: bool = False,
        fs: FileOps = REAL_FILES,
    ) -> None:
        self.landing_root = landing_root
        self.fsync = fsync
        self.fs = fs
        start = utc_now()
        own = parse_shard_name(shard_name(node_name(), os.getpid(), start, 1))
        assert own is not None
        self._start = own.start  # as in this process's shard names: recovery leaves them alone
        self._writers: dict[Stream, ShardWriter] = {
            stream: ShardWriter(
                landing_root,
                stream,
                max_bytes=max_bytes,
                max_age_seconds=max_age_seconds,
                start=start,
                fs=fs,
            )
            for stream in Stream
        }
        self._on_commit = on_commit
        self._on_publish = on_publish
        # One thread: the writers are only ever touched by it, so they need no lock.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="respawn-commit")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._chunks: list[Chunk] = []
        self._cycle: asyncio.Future[None] | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.healthy = True
        self.last_error: str | None = None
        self._needed = 0  # bytes of the last failed commit: the disk must have room for them
        # A predecessor's in-flight shards still to publish (None: done), and why it failed.
        self.recovery_pending: str | None = "not run yet" if recover else None

    # -- event loop side -----------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._cycle = self._loop.create_future()
        self._task = self._loop.create_task(self._run(), name="respawn-committer")

    @property
    def problem(self) -> str | None:
        """Why the landing cannot take data now (None when it can)."""
        if self.recovery_pending is not None:
            return f"publishing a previous run's in-flight shards failed: {self.recovery_pending}"
        if not self.healthy:
            return f"the last commit failed: {self.last_error}"
        return None

    def submit(self, when: datetime, events: bytes, deadletter: bytes) -> asyncio.Future[None]:
        """Queue lines received at `when` (UTC); the future resolves once they are durable."""
        assert self._cycle is not None and self._wake is not None, "start() first"
        if self._closing:
            raise StorageError("the committer is closed")
        self._chunks.append((when, events, deadletter))
        self._wake.set()
        return self._cycle

    async def _run(self) -> None:
        assert self._loop is not None and self._wake is not None
        while True:
            if not self._chunks:
                if self._closing:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            chunks, cycle = self._chunks, self._cycle
            assert cycle is not None
            self._chunks, self._cycle = [], self._loop.create_future()
            started = time.perf_counter()
            try:
                await self._loop.run_in_executor(self._pool, self._commit, chunks)
            except Exception as e:
                self.healthy, self.last_error = False, f"{type(e).__name__}: {e}"
                self._needed = sum(len(c[1]) + len(c[2]) for c in chunks)
                log.error("commit failed", extra={"fields": {"error": self.last_error}})
                cycle.set_exception(StorageError(f"landing failed: {e}"))
                cycle.exception()  # retrieved here; sessions that wait on it see it too
            else:
                self.healthy, self.last_error = True, None
                cycle.set_result(None)
                if self._on_commit is not None:
                    self._on_commit(len(chunks), time.perf_counter() - started)

    async def publish_due(self) -> None:
        """Publish shards that reached their size or age (called periodically)."""
        assert self._loop is not None
        await self._loop.run_in_executor(self._pool, self._publish, False)

    async def maintain(self) -> None:
        """Publish due shards; retry a recovery that failed; after a failed commit, cut the
        writers back and see whether the disk takes data again (then: healthy)."""
        assert self._loop is not None
        await self.publish_due()
        if self.recovery_pending is not None:
            await self._loop.run_in_executor(self._pool, self._recover)
        if (
            not self.healthy
            and self.recovery_pending is None
            and await self._loop.run_in_executor(self._pool, self._probe)
        ):
            self.healthy, self.last_error = True, None
            log.info("the landing takes data again")

    async def close(self) -> None:
        """Commit what is pending, publish every open shard, stop the thread."""
        assert self._loop is not None and self._wake is not None
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        try:
            if self.recovery_pending is not None:
                await self._loop.run_in_executor(self._pool, self._recover)
            await self._loop.run_in_executor(self._pool, self._publish, True)
        finally:
            self._pool.shutdown(wait=True)

    # -- commit thread side --------------------------------------------------------------------
    def _commit(self, chunks: list[Chunk]) -> None:
        try:
            written = self._write_chunks(chunks)
            if self.fsync:
                for stream in written:
                    self._writers[stream].sync()
        except OSError:
            self._rewind()
            raise
        for writer in self._writers.values():
            writer.checkpoint()
        self._publish(False)

    def _write_chunks(self, chunks: list[Chunk]) -> set[Stream]:
        # Lines of the same receive hour are joined into one write per stream; a new hour makes
        # the writer publish the previous hour's shard first.
        written: set[Stream] = set()
        for stream, position in ((Stream.EVENTS, 1), (Stream.DEADLETTER, 2)):
            writer = self._writers[stream]
            run: list[bytes] = []
            run_hour: Hour | None = None
            run_when: datetime | None = None
            for chunk in chunks:
                data = chunk[position]
                if not data:
                    continue
                when = chunk[0]
                hour = (when.year, when.month, when.day, when.hour)
                if hour != run_hour and run:
                    assert run_when is not None
                    self._write(writer, b"".join(run), run_when)
                    run = []
                run_hour, run_when = hour, when
                run.append(data)
            if run:
                assert run_when is not None
                self._write(writer, b"".join(run), run_when)
                written.add(stream)
        return written

    def _write(self, writer: ShardWriter, data: bytes, when: datetime) -> None:
        try:
            writer.write(data, when)
        finally:
            self._note_published(writer)

    def _rewind(self) -> None:
        """After a failed commit: every writer back to its acknowledged length (a writer that
        cannot even be cut back stays marked torn, and is cut before it is written again)."""
        for writer in self._writers.values():
            try:
                writer.rewind()
            except OSError as e:
                log.error(
                    "cannot cut a shard back to its acknowledged lines yet",
                    extra={"fields": {"shard": str(writer.inflight), "error": str(e)}},
                )

    def _publish(self, everything: bool) -> None:
        """Publish due shards (all with `everything`). A shard that cannot be published now
        stays open, whole, and is tried again next time; the first error is raised."""
        error: OSError | None = None
        for writer in self._writers.values():
            try:
                if everything or writer.due():
                    writer.publish()
            except OSError as e:
                log.error(
                    "publishing a shard failed; it stays in flight and is tried again",
                    extra={"fields": {"shard": str(writer.inflight), "error": str(e)}},
                )
                error = error or e
            finally:
                self._note_published(writer)
        if error is not None and everything:
            raise error

    def _recover(self) -> None:
        try:
            report = recover_inflight(self.landing_root, keep_start=self._start, fs=self.fs)
        except OSError as e:
            if self.recovery_pending == "not run yet" or str(e) != self.recovery_pending:
                log.error(
                    "cannot publish a previous run's in-flight shards yet; serving 503 and "
                    "retrying",
                    extra={"fields": {"error": str(e)}},
                )
            self.recovery_pending = f"{type(e).__name__}: {e}"
            return
        self.recovery_pending = None
        for path in report.published:
            stream = Stream(path.relative_to(self.landing_root).parts[0])
            if self._on_publish is not None and self._loop is not None:
                self._loop.call_soon_threadsafe(self._on_publish, stream, path)
        if report.published or report.torn_lines:
            log.warning(
                "recovered in-flight shards of a previous run",
                extra={
                    "fields": {
                        "published": [str(p) for p in report.published],
                        "torn_lines": report.torn_lines,
                    }
                },
            )

    def _probe(self) -> bool:
        """Whether the disk takes data again: the writers cut back, room for the failed commit
        and 1 MiB more, and a page written and synced in the landing directory."""
        self._rewind()
        if any(writer.torn for writer in self._writers.values()):
            return False
        probe = self.landing_root / f".probe-{os.getpid()}"
        try:
            fd = self.fs.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                self.fs.allocate(fd, self._needed + PROBE_HEADROOM)
                self.fs.write(fd, memoryview(b"\0" * 4096))
                self.fs.fsync(fd)
            finally:
                self.fs.close(fd)
                self.fs.unlink(probe)
        except OSError:
            return False
        return True

    def _note_published(self, writer: ShardWriter) -> None:
        if writer.published:
            for path in writer.published:
                log.info(
                    "shard published",
                    extra={"fields": {"stream": writer.stream, "shard": str(path)}},
                )
                if self._on_publish is not None and self._loop is not None:
                    self._loop.call_soon_threadsafe(self._on_publish, writer.stream, path)
            writer.published.clear()
