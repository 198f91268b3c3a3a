"""Protocol limits, the per-connection rate limits (token buckets), the global buffer budget."""

from __future__ import annotations

import asyncio
import time

MAX_FRAME_BYTES = 1024 * 1024  # a larger frame closes the connection with 1009 (message too big)
MAX_BATCH_EVENTS = 500  # a larger batch is refused with `batch_too_large`
MAX_BATCH_ID_LENGTH = 128
MAX_UNREAD_BYTES = 1024 * 1024  # replies and pongs a client leaves unread: past it, cut off
PING_RATE, PING_BURST = 5.0, 50  # pings a connection may send (each is answered by a pong)
# Frames websockets reads ahead of the session (each up to 1 MiB): they count in the
# BufferBudget from the moment they are received, so memory stays bounded however many.
FRAMES_IN_QUEUE = 16
# File descriptors a server needs beyond one per connection: shards, listening sockets, health
# checks, logs, Python's own.
RESERVED_FILE_DESCRIPTORS = 64


class TokenBucket:
    """`rate` events per second on average, up to `burst` at once. A frame takes as many tokens
    as it has events, all or nothing: a refused frame is answered `rate_limited`, never dropped."""

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self, n: int, now: float | None = None) -> float:
        """Take `n` tokens: 0.0 when admitted, else the seconds after which they would be."""
        if now is None:
            now = time.monotonic()
        tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if n <= tokens:
            self._tokens = tokens - n
            return 0.0
        self._tokens = tokens
        return (n - tokens) / self.rate


class BufferBudget:
    """A bound on the bytes of frames this process holds, received and not yet answered, over
    every connection: the frame that crosses `limit` pauses its connection's reading (TCP then
    pushes back on the client) until the total is back under three quarters of it. So memory
    stays about `limit` plus, per connection, the frame that crossed it and the frames completed
    by the same socket read (asyncio reads up to 256 KiB at once), however many clients stall and
    whatever the disk does."""

    __slots__ = ("_paused", "held", "limit", "paused_total", "peak")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0
        self.paused_total = 0  # times a connection was paused
        self._paused: set[asyncio.Transport] = set()

    def take(self, n: int, transport: asyncio.Transport) -> None:
        held = self.held = self.held + n
        if held > self.peak:
            self.peak = held
        if held > self.limit and transport not in self._paused:
            transport.pause_reading()
            self._paused.add(transport)
            self.paused_total += 1

    def give(self, n: int) -> None:
        self.held -= n
        if self._paused and self.held <= self.limit * 3 // 4:
            paused, self._paused = self._paused, set()
            for transport in paused:
                if not transport.is_closing():
                    transport.resume_reading()

    def forget(self, transport: asyncio.Transport) -> None:
        self._paused.discard(transport)
