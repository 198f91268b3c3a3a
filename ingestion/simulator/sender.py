"""WebSocket mode: the simulated devices send their frames to a running `respawn serve`.

Each of `--connections` connections carries the frames of a share of the players, merged in
the order the devices sent them. Like the browser client, a connection keeps up to `window`
frames in flight (acks come back in order), resends every frame whose ack did not come after
reconnecting with backoff (same batch id and event ids, fresh `sent_at`), and honours the token.
`sent_at` is the real time of sending read on the device's clock (real now plus the device's
offset), so `received_at - (sent_at - timestamp)` gives back the true event time downstream.

Every copy of every event sent is written to the delivery log (`acks.csv`) with what the
ingestor said about it, so a reconciliation can prove that nothing acknowledged was lost and
that every duplicate was sent twice.
"""

from __future__ import annotations

import asyncio
import csv
import heapq
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from ingestion.contract import Code
from ingestion.simulator.delivery import DUPLICATE, FIRST, Frame
from ingestion.simulator.events import client_ts
from ingestion.simulator.summary import Counts
from ingestion.simulator.truth import ACK_COLUMNS

RETRY = "retry"
ACKED, REFUSED, ERROR = "acked", "refused", "error"
MAX_CONNECT_ATTEMPTS = 8


class SendError(RuntimeError):
    """The run cannot go on (the ingestor is unreachable or refuses us); says what to do."""


@dataclass(frozen=True, slots=True)
class SenderOptions:
    url: str = "ws://127.0.0.1:8765"
    token: str | None = None
    origin: str | None = None
    connections: int = 4
    rate: float | None = None  # events per second over all connections; None: as fast as acked
    window: int = 16  # frames in flight per connection
    ack_timeout: float = 10.0  # seconds to wait for an ack before giving the connection up
    backoff_initial: float = 0.2
    backoff_max: float = 5.0


@dataclass(slots=True)
class _InFlight:
    frame: Frame
    copy: int  # 1 for the first send of this frame, 2 for its first resend...
    why: str


class DeliveryLog:
    """`acks.csv`: one row per copy of an event sent, with the ingestor's answer."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = path.open("w", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(ACK_COLUMNS)

    def frame(self, item: _InFlight, outcomes: list[tuple[str, str]]) -> None:
        f = item.frame
        self._csv.writerows(
            (e.get("event_id", ""), e.get("user_id", ""), f.batch_id or "", item.copy, item.why, *o)
            for e, o in zip(f.events, outcomes, strict=True)
        )

    def close(self) -> None:
        self._file.close()


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Exponential with equal jitter, as the browser client: half fixed, half random."""
    ceiling = min(maximum, initial * 2 ** min(attempt, 30))
    return ceiling / 2 + rng.random() * ceiling / 2


def encode(frame: Frame, now_ms: int) -> bytes:
    """The frame's text at real time `now_ms`: `sent_at` is the device clock's reading now."""
    if frame.batch_id is None:
        return orjson.dumps(frame.events[0])
    offset = frame.clock.read(frame.send_ms) - frame.send_ms
    return orjson.dumps(
        {"batch_id": frame.batch_id, "sent_at": client_ts(now_ms + offset), "events": frame.events}
    )


def split_connections(per_player: Iterable[list[Frame]], connections: int) -> list[list[Frame]]:
    """Players round-robin over connections; each connection's frames in device send order."""
    lanes: list[list[list[Frame]]] = [[] for _ in range(connections)]
    for i, frames in enumerate(per_player):
        lanes[i % connections].append(frames)
    return [list(heapq.merge(*lane, key=lambda f: f.send_ms)) for lane in lanes]


class _Connection:
    def __init__(
        self,
        lane: int,
        frames: list[Frame],
        opts: SenderOptions,
        log: DeliveryLog,
        counts: Counts,
        on_events: Callable[[int], None],
    ) -> None:
        self.lane = lane
        self.queue: deque[_InFlight] = deque(
            _InFlight(f, 1, DUPLICATE if f.why == DUPLICATE else FIRST) for f in frames
        )
        self.pending: deque[_InFlight] = deque()
        self.opts = opts
        self.log = log
        self.counts = counts
        self.on_events = on_events
        self.rng = random.Random(f"sender:{lane}")  # jitter only; never affects the events
        self.rate = opts.rate / opts.connections if opts.rate else None
        self.next_send = time.monotonic()

    async def run(self) -> None:
        attempt = 0
        headers = {"Authorization": f"Bearer {self.opts.token}"} if self.opts.token else None
        while self.queue or self.pending:
            try:
                async with connect(
                    self.opts.url,
                    additional_headers=headers,
                    origin=self.opts.origin,  # type: ignore[arg-type]
                    proxy=None,
                    compression=None,
                    open_timeout=self.opts.ack_timeout,
                    max_size=None,
                ) as ws:
                    attempt = 0
                    await self._session(ws)
            except InvalidStatus as e:
                status = e.response.status_code
                if status in (401, 403):
                    hint = (
                        "pass the ingestor's token with --token"
                        if status == 401
                        else "the ingestor does not allow this origin; pass an allowed --origin"
                    )
                    raise SendError(
                        f"{self.opts.url} refused the connection with HTTP {status}: {hint}"
                    ) from None
                attempt = await self._backoff(attempt, f"HTTP {status}")
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as e:
                attempt = await self._backoff(attempt, str(e) or type(e).__name__)

    async def _backoff(self, attempt: int, reason: str) -> int:
        if attempt >= MAX_CONNECT_ATTEMPTS:
            raise SendError(
                f"cannot reach the ingestor at {self.opts.url} after {attempt} attempts "
                f"({reason}); is `respawn serve` running there?"
            )
        # Frames sent but not acked go out again first, in their order (same ids: duplicates
        # downstream when the ingestor had landed them before the connection was lost).
        while self.pending:
            item = self.pending.pop()
            self.log.frame(item, [("unacked", "")] * len(item.frame.events))
            self.queue.appendleft(_InFlight(item.frame, item.copy + 1, RETRY))
        self.counts.reconnects += 1
        await asyncio.sleep(
            backoff_delay(attempt, self.opts.backoff_initial, self.opts.backoff_max, self.rng)
        )
        return attempt + 1

    async def _pace(self, events: int) -> None:
        if self.rate is None:
            return
        now = time.monotonic()
        if self.next_send > now:
            await asyncio.sleep(self.next_send - now)
        self.next_send = max(now, self.next_send) + events / self.rate

    async def _session(self, ws: ClientConnection) -> None:
        while self.queue or self.pending:
            while self.queue and len(self.pending) < self.opts.window:
                item = self.queue[0]
                await self._pace(len(item.frame.events))
                await ws.send(encode(item.frame, time.time_ns() // 1_000_000))
                self.queue.popleft()
                self.pending.append(item)
                self._count_send(item)
                if item.frame.drop and item.why != RETRY:
                    # The network drops the connection after the frame left, before its ack.
                    await asyncio.sleep(0.02)
                    self.counts.dropped_connections += 1
                    ws.transport.abort()
                    await ws.wait_closed()
                    raise ConnectionClosed(None, None)
            try:
                reply = await asyncio.wait_for(ws.recv(), self.opts.ack_timeout)
            except TimeoutError:
                self.counts.ack_timeouts += 1
                raise
            self._settle(orjson.loads(reply))

    def _count_send(self, item: _InFlight) -> None:
        n = len(item.frame.events)
        self.counts.events_sent += n
        if item.why == RETRY:
            self.counts.retried_frames += 1
            self.counts.retried_events += n
        else:
            self.counts.frames += 1

    def _settle(self, reply: dict[str, Any]) -> None:
        if not self.pending:
            raise SendError(f"the ingestor replied to a frame that was never sent: {reply}")
        item = self.pending.popleft()
        frame = item.frame
        n = len(frame.events)
        if reply.get("type") == "ack":
            if reply.get("batch_id") != frame.batch_id:
                raise SendError(
                    f"ack for batch {reply.get('batch_id')} while {frame.batch_id} was expected: "
                    "the ingestor broke the in-order ack protocol"
                )
            outcomes: list[tuple[str, str]] = [(ACKED, "")] * n
            for r in reply.get("rejected", []):
                outcomes[r["index"]] = (REFUSED, r["code"])
                self.counts.refused[r["code"]] += 1
            self.counts.acked += n - len(reply.get("rejected", []))
            self.log.frame(item, outcomes)
            self.on_events(n)
            return
        code = str(reply.get("code", "unknown"))
        self.counts.frame_errors[code] += 1
        self.log.frame(item, [(ERROR, code)] * n)
        if code == Code.RATE_LIMITED:
            # Not landed: send it again after the frames already queued behind it are done.
            self.queue.append(_InFlight(frame, item.copy + 1, RETRY))
            self.next_send = time.monotonic() + 0.5
        else:
            self.on_events(n)


@dataclass
class SendResult:
    counts: Counts
    seconds: float
    lanes: list[int] = field(default_factory=list)  # frames per connection


async def _send(
    lanes: list[list[Frame]], opts: SenderOptions, log: DeliveryLog, counts: Counts, bar: Any
) -> None:
    conns = [
        _Connection(i, frames, opts, log, counts, bar.update) for i, frames in enumerate(lanes)
    ]
    tasks = [asyncio.create_task(c.run()) for c in conns]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def send_frames(
    per_player: list[list[Frame]],
    opts: SenderOptions,
    acks_path: Path,
    counts: Counts,
    bar: Any,
) -> SendResult:
    """Send every player's frames; block until each one is acked, refused or given up on."""
    lanes = split_connections(per_player, max(1, opts.connections))
    log = DeliveryLog(acks_path)
    started = time.monotonic()
    try:
        asyncio.run(_send(lanes, opts, log, counts, bar))
    finally:
        log.close()
    return SendResult(counts, time.monotonic() - started, [len(lane) for lane in lanes])
