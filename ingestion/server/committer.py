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
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestion.landing.layout import Stream, node_name, parse_shard_name, shard_name, stream_of
from ingestion.landing.lines import utc_now
from ingestion.landing.recovery import recover_inflight
from ingestion.landing.store import LandingStore, LocalStore, ShardLocation
from ingestion.landing.writer import REAL_FILES, FileOps, ShardWriter, publish

log = logging.getLogger("respawn.serve.committer")

Hour = tuple[int, int, int, int]
Chunk = tuple[datetime, bytes, bytes]  # receive time (UTC), landed lines, dead-letter lines


PROBE_HEADROOM = 1024 * 1024
# On shutdown, how long finished shards may take to reach object storage; what is left stays in
# flight on local disk, and the next start publishes it.
UPLOAD_DRAIN_SECONDS = 30.0
UPLOAD_RETRY_MAX_SECONDS = 5.0


def _STOP() -> None:
    """Queued last by `close`: the commit thread ends."""


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


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
        on_publish: Callable[[Stream, ShardLocation], None] | None = None,
        recover: bool = False,
        fs: FileOps = REAL_FILES,
        store: LandingStore | None = None,
        publish_each_commit: bool = False,
    ) -> None:
        self.landing_root = landing_root
        self.fsync = fsync
        self.fs = fs
        self.store = store or LocalStore(landing_root)
        # `--durability publish`: a commit is acknowledged once its lines are published (on
        # object storage, once the PUT returned), so each commit ends its shards.
        self.publish_each_commit = publish_each_commit
        # Otherwise, on object storage, finished shards are PUT by an uploader thread, in order:
        # a slow or unreachable store then delays publishing, never an acknowledgement (the
        # lines are durable in the local in-flight file already; the disk is the buffer).
        self._background = not self.store.local and not publish_each_commit
        self._uploads: deque[Path] = deque()
        self._uploads_cv = threading.Condition()
        self._uploads_stop = False
        self._uploader: threading.Thread | None = None
        self.upload_error: str | None = None
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
                store=self.store,
                hand_off=self._hand_off if self._background else None,
            )
            for stream in Stream
        }
        self._on_commit = on_commit
        self._on_publish = on_publish
        self._loop: asyncio.AbstractEventLoop | None = None
        # Handed from the event loop to the commit thread under `_lock`: the lines of the open
        # cycle, the future its frames wait on, and other work for the thread (publishing,
        # recovery), which runs between commits. The writers are only ever touched by that one
        # thread, so they need no lock.
        self._lock = threading.Lock()
        self._work = threading.Event()
        self._chunks: list[Chunk] = []
        self._cycle: asyncio.Future[None] | None = None
        self._calls: deque[tuple[Callable[[], Any], asyncio.Future[Any]]] = deque()
        self._thread: threading.Thread | None = None
        self._closing = False
        self.healthy = True
        self.last_error: str | None = None
        self._needed = 0  # bytes of the last failed commit: the disk must have room for them
        # A predecessor's in-flight shards still to publish (None: done), and why it failed.
        self.recovery_pending: str | None = "not run yet" if recover else None

    # -- event loop side -----------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._serve, name="respawn-commit", daemon=True)
        self._thread.start()
        if self._background:
            self._uploader = threading.Thread(
                target=self._upload, name="respawn-publish", daemon=True
            )
            self._uploader.start()

    @property
    def awaiting_publish(self) -> int:
        """Finished shards not yet on object storage (the uploader's backlog)."""
        with self._uploads_cv:
            return len(self._uploads)

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
        assert self._loop is not None, "start() first"
        if self._closing:
            raise StorageError("the committer is closed")
        with self._lock:
            cycle = self._cycle
            if cycle is None:
                cycle = self._cycle = self._loop.create_future()
            self._chunks.append((when, events, deadletter))
        self._work.set()
        return cycle

    def _committed(
        self, cycle: asyncio.Future[None], chunks: int, size: int, seconds: float, error: str
    ) -> None:
        """On the event loop, after a commit: its frames may be answered (or learn it failed)."""
        if error:
            self.healthy, self.last_error, self._needed = False, error, size
            log.error("commit failed", extra={"fields": {"error": error}})
            cycle.set_exception(StorageError(f"landing failed: {error}"))
            cycle.exception()  # retrieved here; sessions that wait on it see it too
            return
        self.healthy, self.last_error = True, None
        cycle.set_result(None)
        if self._on_commit is not None:
            self._on_commit(chunks, seconds)

    async def _call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the commit thread, between two commits."""
        assert self._loop is not None and self._thread is not None
        future: asyncio.Future[Any] = self._loop.create_future()
        with self._lock:
            self._calls.append((fn, future))
        self._work.set()
        return await future

    async def publish_due(self) -> None:
        """Publish shards that reached their size or age (called periodically)."""
        await self._call(lambda: self._publish(False))

    async def maintain(self) -> None:
        """Publish due shards; retry a recovery that failed; after a failed commit, cut the
        writers back and see whether the disk takes data again (then: healthy)."""
        await self.publish_due()
        if self.recovery_pending is not None:
            await self._call(self._recover)
        if not self.healthy and self.recovery_pending is None and await self._call(self._probe):
            self.healthy, self.last_error = True, None
            log.info("the landing takes data again")

    async def close(self) -> None:
        """Commit what is pending, publish every open shard, stop the thread."""
        assert self._loop is not None and self._thread is not None
        self._closing = True
        try:
            if self.recovery_pending is not None:
                await self._call(self._recover)
            await self._call(lambda: self._publish(True))  # after every pending commit
            if self._uploader is not None:
                await asyncio.to_thread(self._drain_uploads, UPLOAD_DRAIN_SECONDS)
        finally:
            if self._uploader is not None:
                with self._uploads_cv:
                    self._uploads_stop = True
                    self._uploads_cv.notify_all()
                await asyncio.to_thread(self._uploader.join, UPLOAD_DRAIN_SECONDS)
            with self._lock:
                self._calls.append((_STOP, self._loop.create_future()))
            self._work.set()
            await asyncio.to_thread(self._thread.join)

    # -- commit thread side --------------------------------------------------------------------
    def _serve(self) -> None:
        """The commit thread: commit whatever was submitted meanwhile, back to back (the next
        commit starts the moment the previous one is durable, without a round trip through the
        event loop), and run the calls queued between commits."""
        loop = self._loop
        assert loop is not None
        while True:
            self._work.wait()
            with self._lock:
                self._work.clear()
                chunks, cycle = self._chunks, self._cycle
                self._chunks, self._cycle = [], None
                call = self._calls.popleft() if self._calls and not chunks else None
                if self._calls or call is not None:
                    self._work.set()  # more to do after this
            if cycle is not None:
                started = time.perf_counter()
                error = ""
                try:
                    self._commit(chunks)
                except Exception as e:
                    error = f"{type(e).__name__}: {e}"
                size = sum(len(c[1]) + len(c[2]) for c in chunks) if error else 0
                seconds = time.perf_counter() - started
                loop.call_soon_threadsafe(self._committed, cycle, len(chunks), size, seconds, error)
            if call is not None:
                fn, future = call
                if fn is _STOP:
                    loop.call_soon_threadsafe(_settle, future, None, None)
                    return
                try:
                    result, exc = fn(), None
                except Exception as e:
                    result, exc = None, e
                loop.call_soon_threadsafe(_settle, future, result, exc)

    # -- commit thread side --------------------------------------------------------------------
    def _commit(self, chunks: list[Chunk]) -> None:
        try:
            written = self._write_chunks(chunks)
            if self.fsync:
                for stream in written:
                    self._writers[stream].sync()
            if self.publish_each_commit:
                for stream in written:
                    self._publish_now(self._writers[stream])
        except OSError:
            self._rewind()
            raise
        for writer in self._writers.values():
            writer.checkpoint()
        self._publish(False)

    def _publish_now(self, writer: ShardWriter) -> None:
        try:
            writer.publish()
        finally:
            self._note_published(writer)

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
            report = recover_inflight(
                self.landing_root, keep_start=self._start, fs=self.fs, store=self.store
            )
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
            stream = stream_of(path)
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

    # -- uploader thread side (object storage) ------------------------------------------------
    def _hand_off(self, inflight: Path) -> None:
        """From a writer (on the commit thread): a finished shard, for the uploader."""
        with self._uploads_cv:
            self._uploads.append(inflight)
            self._uploads_cv.notify_all()

    def _drain_uploads(self, timeout: float) -> None:
        with self._uploads_cv:
            if not self._uploads_cv.wait_for(lambda: not self._uploads, timeout):
                log.warning(
                    "shards not yet on object storage stay in flight; the next start publishes "
                    "them",
                    extra={"fields": {"shards": [str(p) for p in self._uploads]}},
                )

    def _upload(self) -> None:
        """PUT the finished shards, oldest first; retry one that fails (with a growing pause)
        until it goes through. Each stays an in-flight file until its PUT returned."""
        delay = 0.1
        while True:
            with self._uploads_cv:
                self._uploads_cv.wait_for(lambda: self._uploads or self._uploads_stop)
                if self._uploads_stop:
                    return  # what is left stays in flight: recovery publishes it
                inflight = self._uploads[0]
            try:
                location = publish(
                    inflight, self.fs, landing_root=self.landing_root, store=self.store
                )
            except Exception as e:
                error = f"{type(e).__name__}: {e}"
                if error != self.upload_error:
                    log.error(
                        "publishing a shard to object storage failed; it stays in flight on "
                        "local disk and is tried again",
                        extra={"fields": {"shard": str(inflight), "error": error}},
                    )
                self.upload_error = error
                with self._uploads_cv:
                    self._uploads_cv.wait_for(lambda: self._uploads_stop, delay)
                delay = min(delay * 2, UPLOAD_RETRY_MAX_SECONDS)
                continue
            delay = 0.1
            with self._uploads_cv:
                self._uploads.popleft()
                self._uploads_cv.notify_all()
            if self.upload_error is not None:
                self.upload_error = None
                log.info("publishing to object storage works again")
            stream = stream_of(location)
            log.info("shard published", extra={"fields": {"stream": stream, "shard": location}})
            if self._on_publish is not None and self._loop is not None:
                self._loop.call_soon_threadsafe(self._on_publish, stream, location)

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
