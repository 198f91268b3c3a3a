"""One client connection: read frames, land them, answer each one in order once it is durable.

A reader task decodes and validates frames as they arrive and hands their lines to the group
committer without waiting for the disk; a sender task sends the replies in arrival order, each
only after its commit resolved. So a client may pipeline frames (up to `window` unanswered) and
one connection still gets group-commit throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from typing import Protocol

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from ingestion.contract import Code, Failure
from ingestion.landing.lines import format_ts, utc_now
from ingestion.server import frames
from ingestion.server.committer import GroupCommitter, StorageError
from ingestion.server.config import ServerConfig
from ingestion.server.limits import TokenBucket
from ingestion.server.metrics import Metrics
from ingestion.server.wire import IngestConnection, send_many

log = logging.getLogger("respawn.serve.session")

# (the commit's future, or None when nothing was written; the reply; when the frame was read;
# its size, given back to the buffer budget once it is answered)
Pending = tuple["asyncio.Future[None] | None", bytes, float, int]


class SessionHost(Protocol):
    """What a session needs from the server that accepted its connection (`app.IngestServer`)."""

    config: ServerConfig  # the window and the rate limit
    metrics: Metrics  # counted into
    committer: GroupCommitter  # lines are submitted to it
    draining: bool  # the server is shutting down: close with 1001, not 1000


class Session:
    def __init__(self, ws: IngestConnection, server: SessionHost) -> None:
        config = server.config
        self.ws = ws
        self.server = server
        self.id = str(uuid.uuid4())
        self.window = config.window
        self.bucket = (
            TokenBucket(config.rate_limit, config.rate_burst) if config.rate_limit else None
        )
        # Bytes this connection may make the server dead-letter: refusals are stored, so a
        # client sending nothing but garbage must not be able to fill the disk with it.
        self.deadletter_budget = TokenBucket(config.deadletter_rate, config.deadletter_burst)
        self._policy_close: str | None = None  # why the reader stopped: close 1008 with it
        self.pending: deque[Pending] = deque()
        self._wake = asyncio.Event()  # a reply was queued, or reading ended
        self._space = asyncio.Event()  # the window has room again
        self._reading_done = False
        self.reader: asyncio.Task[None] | None = None
        self.frames = 0

    async def run(self) -> None:
        """Serve the connection until the client leaves, the server drains, or storage fails."""
        remote = self.ws.remote_address
        fields = {
            "connection_id": self.id,
            "remote": f"{remote[0]}:{remote[1]}" if remote else None,
        }
        log.info("connection opened", extra={"fields": fields})
        sender = asyncio.create_task(self._send_loop())
        reader = self.reader = asyncio.create_task(self._read_loop())
        reader_error: BaseException | None = None
        try:
            await asyncio.wait([reader, sender], return_when=asyncio.FIRST_COMPLETED)
            if not reader.done():  # the sender failed: the reader may wait for window space
                reader.cancel()
                await asyncio.wait([reader])
            elif not reader.cancelled() and (reader_error := reader.exception()) is not None:
                log.error(
                    "reading frames failed",
                    extra={"fields": {"connection_id": self.id, "error": repr(reader_error)}},
                )
        finally:
            self._reading_done = True
            self._wake.set()
            if not reader.done():  # this handler itself was cancelled
                reader.cancel()
                sender.cancel()
        close_code, reason = CloseCode.NORMAL_CLOSURE, ""
        try:
            await sender  # answers every frame already read
        except StorageError:
            close_code = CloseCode.INTERNAL_ERROR
            reason = "storage unavailable: resend the frames that were not acknowledged"
        except ConnectionClosed:
            pass
        else:
            if reader_error is not None:
                close_code, reason = CloseCode.INTERNAL_ERROR, "internal error; see server logs"
            elif self._policy_close is not None:
                close_code, reason = CloseCode.POLICY_VIOLATION, self._policy_close
                self.server.metrics.connections_closed["deadletter_budget"] += 1
            elif self.server.draining:
                close_code, reason = CloseCode.GOING_AWAY, "server shutting down"
        finally:
            self.ws.release_all()
        if close_code != CloseCode.NORMAL_CLOSURE:
            await self.ws.close(close_code, reason)
        log.info(
            "connection closed",
            extra={
                "fields": fields
                | {"frames": self.frames, "code": self.ws.close_code, "reason": reason or None}
            },
        )

    def stop_reading(self) -> None:
        """Drain: read no further frame; those already read are still answered."""
        if self.reader is not None and not self.reader.done():
            self.reader.cancel()

    async def _read_loop(self) -> None:
        ws, server = self.ws, self.server
        metrics, committer = server.metrics, server.committer
        pending, wake = self.pending, self._wake
        try:
            while True:
                data = await ws.recv(decode=False)
                started = time.perf_counter()
                now = utc_now()
                received_at = format_ts(now)
                metrics.bytes_received += len(data)
                outcome = self._process(data, received_at)
                if outcome.deadletter and self.deadletter_budget.take(len(outcome.deadletter)):
                    # (A close reason holds at most 123 bytes; the log says more.)
                    self._policy_close = "dead-letter budget exceeded: fix what is refused"
                    log.warning(
                        "closing a connection past its dead-letter budget",
                        extra={
                            "fields": {
                                "connection_id": self.id,
                                "rate": self.deadletter_budget.rate,
                                "burst": self.deadletter_budget.burst,
                            }
                        },
                    )
                    return  # that frame is neither stored nor answered: it may be resent
                self.frames += 1
                future = None
                if outcome.events or outcome.deadletter:
                    future = committer.submit(now, outcome.events, outcome.deadletter)
                pending.append((future, outcome.reply, started, len(data)))
                wake.set()
                if len(pending) >= self.window:
                    self._space.clear()
                    await self._space.wait()
        except ConnectionClosed:
            return

    def _process(self, data: bytes, received_at: str) -> frames.Outcome:
        decoded = frames.decode(data)
        if isinstance(decoded, frames.FrameRefusal):
            # A refused frame costs at least one event of the rate: else garbage is free.
            if (wait := self._over_rate(max(1, decoded.events))) is not None:
                decoded = frames.FrameRefusal(wait, decoded.batch_id)
                outcome = frames.refuse(decoded, b"", received_at, self.id, keep=False)
            else:
                outcome = frames.refuse(decoded, data, received_at, self.id)
        elif (wait := self._over_rate(len(decoded.events))) is not None:
            outcome = frames.refuse(
                frames.FrameRefusal(wait, decoded.batch_id), "", received_at, self.id, keep=False
            )
        else:
            outcome = frames.land(decoded, data, received_at, self.id)
        metrics = self.server.metrics
        if outcome.error is not None:
            metrics.frames["refused"] += 1
            metrics.frames_refused[outcome.error] += 1
            return outcome
        assert isinstance(decoded, frames.Frame)
        metrics.frames["batch" if decoded.is_batch else "event"] += 1
        metrics.events_accepted["valid"] += outcome.valid
        metrics.events_accepted["unknown"] += outcome.unknown
        if outcome.refused:
            metrics.events_refused.update(outcome.refused)
        return outcome

    def _over_rate(self, events: int) -> Failure | None:
        """None when the connection may send `events` more events now, else the refusal."""
        bucket = self.bucket
        if bucket is None:
            return None
        wait = bucket.take(events)
        if not wait:
            return None
        return Failure(
            Code.RATE_LIMITED,
            None,
            f"this connection may send {bucket.rate:g} events/s (bursts of {bucket.burst:g}); "
            f"resend this frame in {wait * 1000:.0f} ms",
        )

    async def _send_loop(self) -> None:
        pending, ws = self.pending, self.ws
        observe = self.server.metrics.ack_latency.observe
        replies: list[bytes] = []
        started: list[float] = []
        answered = 0  # bytes of the frames whose replies go out now
        while True:
            if not pending:
                if self._reading_done:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            head = pending[0][0]
            if head is not None and not head.done():
                with contextlib.suppress(StorageError):  # looked at below, in order
                    await head
            # Every reply now due goes out, in order, in one write; a failed commit stops there
            # (its frames are not acknowledged: the connection closes and the client resends).
            failed: BaseException | None = None
            while pending and (pending[0][0] is None or pending[0][0].done()):
                future = pending[0][0]
                if future is not None and (failed := future.exception()) is not None:
                    break
                _, reply, t0, size = pending.popleft()
                replies.append(reply)
                started.append(t0)
                answered += size
            if len(pending) < self.window:
                self._space.set()
            if replies:
                await send_many(ws, replies)
                ws.release(answered)
                answered = 0
            if failed is not None:
                raise failed
            now = time.perf_counter()
            for t0 in started:
                observe(now - t0)
            replies.clear()
            started.clear()
