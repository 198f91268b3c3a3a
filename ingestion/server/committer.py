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
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from ingestion.landing.layout import Stream
from ingestion.landing.writer import ShardWriter

log = logging.getLogger("respawn.serve.committer")

Hour = tuple[int, int, int, int]
Chunk = tuple[datetime, bytes, bytes]  # receive time (UTC), landed lines, dead-letter lines


class StorageError(OSError):
    """Writing or syncing a shard failed: nothing of that commit may be acknowledged."""


class GroupCommitter:
    def __init__(
        self,
        landing_root: Path,
        *,
        fsync: bool = True,
        max_bytes: int = 64 * 1024 * 1024,
        max_age_seconds: float = 60.0,
        on_commit: Callable[[int, float], None] | None = None,
        on_publish: Callable[[Stream, Path], None] | None = None,
    ) -> None:
        self.landing_root = landing_root
        self.fsync = fsync
        self._writer_args = {"max_bytes": max_bytes, "max_age_seconds": max_age_seconds}
        self._writers: dict[Stream, ShardWriter] = {
            stream: ShardWriter(landing_root, stream, **self._writer_args) for stream in Stream
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

    # -- event loop side -----------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._cycle = self._loop.create_future()
        self._task = self._loop.create_task(self._run(), name="respawn-committer")

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

    async def close(self) -> None:
        """Commit what is pending, publish every open shard, stop the thread."""
        assert self._loop is not None and self._wake is not None
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        try:
            await self._loop.run_in_executor(self._pool, self._publish, True)
        finally:
            self._pool.shutdown(wait=True)

    # -- commit thread side --------------------------------------------------------------------
    def _commit(self, chunks: list[Chunk]) -> None:
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
        if self.fsync:
            for stream in written:
                self._guarded(self._writers[stream], self._writers[stream].sync)
        self._publish(False)

    def _write(self, writer: ShardWriter, data: bytes, when: datetime) -> None:
        self._guarded(writer, lambda: writer.write(data, when))
        self._note_published(writer)

    def _guarded(self, writer: ShardWriter, action: Callable[[], object]) -> None:
        """Run a write or sync; on failure, abandon the shard (its tail may be torn: recovery
        at the next start settles it) so that later lines never follow a torn one."""
        try:
            action()
        except OSError:
            abandoned = writer.abandon()
            log.error(
                "abandoned an in-flight shard after an I/O error",
                extra={"fields": {"shard": str(abandoned) if abandoned else None}},
            )
            raise

    def _publish(self, everything: bool) -> None:
        for writer in self._writers.values():
            if everything or writer.due():
                self._guarded(writer, writer.publish)
            self._note_published(writer)

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
