"""The server side of one WebSocket connection, below the session: writes coalesced into one
system call, and the bounds a client cannot talk its way around.

When a group commit resolves, many acks of a connection are due at once. websockets writes each
frame to the socket separately; `IngestConnection` joins the frames that are due into one write,
and `send_many` queues several messages under one flow-control check. On loopback, the syscall and
the wake-up of the reader cost more than building an ack.

websockets answers every ping with a pong by itself, whatever the client reads: a client that
floods pings and reads nothing would grow the server's write buffer without end. So pings are
rate limited (past the limit: close 1008), and a connection whose unread outgoing data passes
`MAX_UNREAD_BYTES` is cut. Every data frame received is counted in the process's
`BufferBudget` until the session answers it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from websockets.asyncio.server import ServerConnection
from websockets.frames import DATA_OPCODES, PING, CloseCode, Frame
from websockets.protocol import Event

from ingestion.server.limits import (
    MAX_UNREAD_BYTES,
    PING_BURST,
    PING_RATE,
    BufferBudget,
    TokenBucket,
)
from ingestion.server.metrics import Metrics

SEND_CHUNK_BYTES = 64 * 1024  # replies written between two flow-control checks


class IngestConnection(ServerConnection):
    """Set by `connection_class` for one server: its budget and its metrics."""

    budget: BufferBudget
    metrics: Metrics
    close_timeout_seconds: float = 2.0

    held = 0  # bytes of data frames received and not yet given back to the budget
    _pings: TokenBucket | None = None
    _cut = False

    def process_event(self, event: Event) -> None:
        if not isinstance(event, Frame):  # the opening handshake's request
            super().process_event(event)
            return
        opcode = event.opcode
        if opcode in DATA_OPCODES:
            n = len(event.data)
            self.held += n
            self.budget.take(n, self.transport)
        elif opcode is PING:
            if self._pings is None:
                self._pings = TokenBucket(PING_RATE, PING_BURST)
            if self._pings.take(1):
                self.refuse(CloseCode.POLICY_VIOLATION, "too many pings", "ping_flood")
                return
        super().process_event(event)

    def release(self, n: int) -> None:
        """The session answered a frame of `n` bytes: its bytes leave the budget."""
        self.held -= n
        self.budget.give(n)

    def release_all(self) -> None:
        """The connection ended: whatever it still held (read, never answered) is freed."""
        self.budget.forget(self.transport)
        if self.held:
            self.release(self.held)

    def refuse(self, code: CloseCode, reason: str, metric: str) -> None:
        """Close the connection at once for a policy violation (a close frame, then the TCP
        connection, whether or not the client answers)."""
        if self._cut:
            return
        self._cut = True
        self.metrics.connections_closed[metric] += 1
        self.protocol.fail(code, reason)
        with contextlib.suppress(Exception):
            self.send_data()
        self.transport.pause_reading()  # read nothing more of it: TCP pushes back on the client
        self.loop.call_later(self.close_timeout_seconds, self.transport.abort)

    def send_data(self) -> None:
        chunks = self.protocol.data_to_send()
        if chunks and all(chunks):  # an empty chunk means end of stream: see below
            self.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        else:
            for data in chunks:  # as websockets does
                if data:
                    self.transport.write(data)
                elif self.transport.can_write_eof():
                    with contextlib.suppress(Exception):  # as websockets: best effort
                        self.transport.write_eof()
                else:  # pragma: no cover - only with TLS
                    self.transport.close()
        if self.transport.get_write_buffer_size() > MAX_UNREAD_BYTES and not self._cut:
            self._cut = True  # nothing more can reach a client that reads nothing: no close frame
            self.metrics.connections_closed["unread_output"] += 1
            self.transport.abort()


def connection_class(budget: BufferBudget, metrics: Metrics) -> type[IngestConnection]:
    """The connection type of one server (websockets creates the instances)."""
    return type(
        "ServerIngestConnection", (IngestConnection,), {"budget": budget, "metrics": metrics}
    )


async def send_many(ws: ServerConnection, messages: Sequence[bytes]) -> None:
    """Send UTF-8 encoded messages as text frames, in order, written together (in chunks of
    about `SEND_CHUNK_BYTES`, each waiting for the client to read, so that a burst of big acks
    never sits whole in the write buffer)."""
    i, n = 0, len(messages)
    while i < n:
        size = 0
        async with ws.send_context():
            while i < n and size < SEND_CHUNK_BYTES:
                message = messages[i]
                ws.protocol.send_text(message)
                size += len(message)
                i += 1
